import { HubError } from './errors';

/** Retry settings; tests shorten the delays. */
export type TRetryOptions = { attempts: number; baseDelayMs: number; maxDelayMs: number };
export const DEFAULT_RETRY: TRetryOptions = Object.freeze({ attempts: 5, baseDelayMs: 1000, maxDelayMs: 20_000 });

/** Statuses worth another try: the hub or its CDN is busy or briefly broken (huggingface_hub retries 408/429/5xx). */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function backoffMs(attempt: number, retry: TRetryOptions, retryAfter?: string | null): number {
  const after = retryAfter ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(after) && after >= 0) return Math.min(after * 1000, retry.maxDelayMs);
  const exp = Math.min(retry.baseDelayMs * 2 ** attempt, retry.maxDelayMs);
  return exp / 2 + Math.random() * (exp / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new HubError('ABORTED', 'the download was cancelled.'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new HubError('ABORTED', 'the download was cancelled.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type THop = { url: string; status: number; headers: Headers };

/**
 * GET that follows redirects by hand so that, as huggingface_hub (through requests/httpx) does, the Authorization
 * header is sent only to the origin it was meant for: large files redirect to a CDN on another host, which must never
 * see the user's token. Returns the final response plus every hop's headers (the hub's first hop carries
 * X-Repo-Commit, X-Linked-Size and X-Linked-Etag; the CDN's does not).
 */
export async function getFollowing(
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ response: Response; hops: THop[] }> {
  const origin = new URL(url).origin;
  const hops: THop[] = [];
  let current = url;
  for (let i = 0; i < 10; i++) {
    const sameOrigin = new URL(current).origin === origin;
    const h: Record<string, string> = { ...headers };
    if (!sameOrigin) {
      delete h.Authorization;
      delete h.Cookie;
    }
    const response = await fetch(current, { headers: h, redirect: 'manual', signal });
    if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
      hops.push({ url: current, status: response.status, headers: response.headers });
      await response.body?.cancel();
      current = new URL(response.headers.get('location') as string, current).toString();
      continue;
    }
    hops.push({ url: current, status: response.status, headers: response.headers });
    return { response, hops };
  }
  throw new HubError('HUB_ERROR', `too many redirects from ${url}.`);
}

/** Node's fetch wraps socket failures in a TypeError with a `cause`; these are worth retrying. */
export function isNetworkError(error: unknown): boolean {
  if (error instanceof HubError) return false;
  const e = error as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'AbortError') return false;
  return e instanceof TypeError || /^(ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR)/.test(e?.cause?.code ?? e?.code ?? '');
}

/** "fetch failed" says nothing: name the socket error under it (ENOTFOUND, ECONNREFUSED, UND_ERR_SOCKET...). */
export function networkReason(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause ? `${e.message} (${e.cause.code ?? e.cause.message})` : e.message;
}
