import { HubError } from './errors';
import { backoffMs, isNetworkError, isTransientStatus, networkReason, sleep, type TRetryOptions } from './http';

export type THubSource = 'huggingface' | 'modelscope';

/** One file of a repo listing: its size and, where the hub gives it, its sha256. */
export type TRemoteFile = { path: string; size?: number; sha256?: string };

export type TRepoListing = { commit: string | null; revision: string; files: TRemoteFile[] };

export type THub = {
  source: THubSource;
  endpoint: string;
  /** Headers for every request to the hub's own origin (the token lives here). */
  headers: Record<string, string>;
  list(retry: TRetryOptions, signal?: AbortSignal): Promise<TRepoListing>;
  fileUrl(path: string, revision: string): string;
  /** The environment variable that holds this hub's token, for error sentences. */
  tokenVar: string;
};

const HF_DEFAULT_ENDPOINT = 'https://huggingface.co';
const MS_DEFAULT_ENDPOINT = 'https://www.modelscope.cn';

export function defaultEndpoint(source: THubSource, env: NodeJS.ProcessEnv = process.env): string {
  if (source === 'huggingface') return (env.HF_ENDPOINT || HF_DEFAULT_ENDPOINT).replace(/\/+$/, '');
  if (env.MODELSCOPE_ENDPOINT) return env.MODELSCOPE_ENDPOINT.replace(/\/+$/, '');
  // The modelscope SDK reads a bare domain from MODELSCOPE_DOMAIN.
  if (env.MODELSCOPE_DOMAIN) return `https://${env.MODELSCOPE_DOMAIN.replace(/^https?:\/\//, '').replace(/\/+$/, '')}`;
  return MS_DEFAULT_ENDPOINT;
}

export function defaultToken(source: THubSource, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (source === 'huggingface') return env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  return env.MODELSCOPE_API_TOKEN || undefined;
}

/** `owner/name` (Hugging Face also has a few legacy single-name repos such as `gpt2`). */
export function checkRepoId(repo: string, source: THubSource): void {
  const part = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';
  const re = source === 'huggingface' ? new RegExp(`^(${part}/)?${part}$`) : new RegExp(`^${part}/${part}$`);
  if (!re.test(repo) || repo.includes('..')) {
    throw new HubError('BAD_REPO_ID', `"${repo}" is not a ${source} repo id; expected owner/name.`);
  }
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** GET a JSON document from the hub with retries on transient failures. */
async function getJson(
  url: string,
  headers: Record<string, string>,
  retry: TRetryOptions,
  onError: (res: Response) => Promise<never>,
  signal?: AbortSignal,
): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, { headers: { ...headers, Accept: 'application/json' }, signal });
      if (res.ok) return await res.json();
      if (isTransientStatus(res.status) && attempt + 1 < retry.attempts) {
        await res.body?.cancel();
        await sleep(backoffMs(attempt, retry, res.headers.get('retry-after')), signal);
        continue;
      }
      return await onError(res);
    } catch (error) {
      if (signal?.aborted) throw new HubError('ABORTED', 'the download was cancelled.');
      if (isNetworkError(error) && attempt + 1 < retry.attempts) {
        await sleep(backoffMs(attempt, retry), signal);
        continue;
      }
      if (isNetworkError(error)) {
        throw new HubError('NETWORK', `cannot reach ${new URL(url).origin}: ${networkReason(error)}.`);
      }
      throw error;
    }
  }
}

/**
 * What a Hugging Face error response means, following huggingface_hub's hf_raise_for_status: the hub names the
 * failure in X-Error-Code; a 401 without one on a repo URL also means "not found or private" (the hub does not say
 * which, so that private repos stay invisible).
 */
export async function hfError(res: Response, repo: string, endpoint: string, hasToken: boolean): Promise<never> {
  const code = res.headers.get('x-error-code');
  const serverMessage = res.headers.get('x-error-message');
  await res.body?.cancel();
  const tokenHint = hasToken
    ? 'check that HF_TOKEN belongs to an account with access'
    : 'set HF_TOKEN to an access token (https://huggingface.co/settings/tokens)';
  if (code === 'GatedRepo') {
    throw new HubError(
      'AUTH_REQUIRED',
      `${repo} is a gated repo: accept its conditions at ${endpoint}/${repo} and ${tokenHint}.`,
      res.status,
    );
  }
  if (code === 'RevisionNotFound')
    throw new HubError('REVISION_NOT_FOUND', `${repo} has no such revision.`, res.status);
  if (code === 'EntryNotFound')
    throw new HubError('FILE_NOT_FOUND', `a listed file of ${repo} is missing.`, res.status);
  if (code === 'RepoNotFound' || res.status === 404 || (res.status === 401 && !serverMessage?.includes('Invalid'))) {
    throw new HubError(
      'REPO_NOT_FOUND',
      `${repo} was not found on ${endpoint}; check the repo id, or if it is private or gated, ${tokenHint}.`,
      res.status,
    );
  }
  if (res.status === 401 || res.status === 403) {
    throw new HubError(
      'AUTH_REQUIRED',
      `${endpoint} refused access to ${repo} (${res.status}); ${tokenHint}.`,
      res.status,
    );
  }
  throw new HubError('HUB_ERROR', `${endpoint} answered ${res.status} for ${repo}.`, res.status);
}

async function msError(res: Response, repo: string, endpoint: string, hasToken: boolean): Promise<never> {
  await res.body?.cancel();
  const tokenHint = hasToken
    ? 'check that MODELSCOPE_API_TOKEN belongs to an account with access'
    : 'set MODELSCOPE_API_TOKEN to an SDK token (https://modelscope.cn/my/myaccesstoken)';
  if (res.status === 404) {
    throw new HubError('REPO_NOT_FOUND', `${repo} (or that revision) was not found on ${endpoint}.`, res.status);
  }
  if (res.status === 401 || res.status === 403) {
    throw new HubError(
      'AUTH_REQUIRED',
      `${endpoint} refused access to ${repo} (${res.status}); ${tokenHint}.`,
      res.status,
    );
  }
  throw new HubError('HUB_ERROR', `${endpoint} answered ${res.status} for ${repo}.`, res.status);
}

const ZSHA256 = /^[0-9a-f]{64}$/;

/**
 * Hugging Face: `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true` gives the commit sha and `siblings`
 * with sizes and, for LFS files, their sha256 (huggingface_hub's model_info(files_metadata=True)). Files are then
 * fetched from `{endpoint}/{repo}/resolve/{commit}/{path}`, pinned to that commit as snapshot_download does.
 */
export function huggingFaceHub(repo: string, revision: string, endpoint: string, token?: string): THub {
  const headers: Record<string, string> = { 'User-Agent': 'crucible-hub/0.1' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return {
    source: 'huggingface',
    endpoint,
    headers,
    tokenVar: 'HF_TOKEN',
    async list(retry, signal) {
      const url = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
      const body = (await getJson(url, headers, retry, (r) => hfError(r, repo, endpoint, !!token), signal)) as {
        sha?: string;
        siblings?: { rfilename: string; size?: number; lfs?: { sha256?: string; size?: number } }[];
      };
      if (!Array.isArray(body.siblings)) throw new HubError('HUB_ERROR', `${url} returned no file list.`);
      return {
        commit: typeof body.sha === 'string' ? body.sha : null,
        revision,
        files: body.siblings.map((s) => ({
          path: s.rfilename,
          size: s.lfs?.size ?? s.size,
          sha256: s.lfs?.sha256 && ZSHA256.test(s.lfs.sha256) ? s.lfs.sha256 : undefined,
        })),
      };
    },
    fileUrl: (path, rev) => `${endpoint}/${repo}/resolve/${encodeURIComponent(rev)}/${encodePath(path)}`,
  };
}

/**
 * ModelScope: `GET {endpoint}/api/v1/models/{repo}/repo/files?Revision=R&Recursive=True` lists every file with Size
 * and Sha256 in a `{Code, Data: {Files}}` envelope (modelscope HubApi.get_model_files); a file is
 * `GET {endpoint}/api/v1/models/{repo}/repo?Revision=R&FilePath=P` (file_download.get_file_download_url). The SDK
 * authenticates with the `m_session_id` cookie set to MODELSCOPE_API_TOKEN and, on its newer endpoints, a Bearer
 * header; both are sent.
 */
export function modelScopeHub(repo: string, revision: string, endpoint: string, token?: string): THub {
  const headers: Record<string, string> = { 'User-Agent': 'crucible-hub/0.1' };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
    headers.Cookie = `m_session_id=${token}`;
  }
  return {
    source: 'modelscope',
    endpoint,
    headers,
    tokenVar: 'MODELSCOPE_API_TOKEN',
    async list(retry, signal) {
      const url = `${endpoint}/api/v1/models/${repo}/repo/files?Revision=${encodeURIComponent(revision)}&Recursive=True`;
      const body = (await getJson(url, headers, retry, (r) => msError(r, repo, endpoint, !!token), signal)) as {
        Code?: number;
        Message?: string;
        Data?: {
          Files?: {
            Path: string;
            Type: string;
            Size?: number;
            Sha256?: string;
            Revision?: string;
            CommittedDate?: number;
          }[];
        };
      };
      // The API also reports failures inside a 200 envelope.
      if (body.Code !== undefined && body.Code !== 200) {
        const code =
          body.Code === 404 ? 'REPO_NOT_FOUND' : body.Code === 401 || body.Code === 403 ? 'AUTH_REQUIRED' : 'HUB_ERROR';
        throw new HubError(code, `${endpoint}: ${repo}: ${body.Message ?? `code ${body.Code}`}.`);
      }
      const entries = (body.Data?.Files ?? []).filter((f) => f.Type !== 'tree');
      // The listing names the last commit of each file, not of the revision; the newest of them is the commit the
      // listed tree was last changed in, which is what a reader of crucible-download.json needs to reproduce it.
      const newest = [...entries].sort((a, b) => (b.CommittedDate ?? 0) - (a.CommittedDate ?? 0))[0];
      return {
        commit: newest?.Revision ?? null,
        revision,
        files: entries.map((f) => ({
          path: f.Path,
          size: f.Size,
          sha256: f.Sha256 && ZSHA256.test(f.Sha256) ? f.Sha256 : undefined,
        })),
      };
    },
    fileUrl: (path, rev) =>
      `${endpoint}/api/v1/models/${repo}/repo?Revision=${encodeURIComponent(rev)}&FilePath=${encodeURIComponent(path)}`,
  };
}
