import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { errorBody, type TErrorFamily } from './error-shape';

/**
 * The console's front door (server.ts): what happens to every request before Next.js sees it and to every framework
 * response on its way out. Kept apart from server.ts so the tests can call each rule directly.
 *
 * - Who is calling: X-Forwarded-For is believed only as far as it was written by TRUSTED_PROXIES; the address
 *   handed on (as the only X-Forwarded-For entry) is the first untrusted hop, so rotating the header buys nothing
 *   (issue 11, finding 7).
 * - Content-Security-Policy on every response: pages get a fresh script nonce per request (Next.js reads it from
 *   the request's CSP header and puts it on its own scripts), API answers a policy that allows nothing.
 * - A URL that is not valid UTF-8 percent-encoding, or that holds a NUL byte, is a 400 in the API's own error shape
 *   before any route sees it (Next.js answered a plain-text 500).
 * - Framework answers (404 for a path with no route, 405 for a method a route lacks, 500s) under /api and /v1 are
 *   rewritten into the one error shape of that API (error-shape.ts), so every status a client can get parses.
 */

export type TFrontdoorOptions = {
  /** Addresses and CIDR ranges of reverse proxies whose X-Forwarded-For entries are believed. */
  trustedProxies: string[];
  dev: boolean;
  /** Extra origins the browser may connect to (presigned S3 uploads). */
  connectSrc: string[];
};

/** TRUSTED_PROXIES: `127.0.0.1, 10.0.0.0/8, ::1`. An entry that is neither an address nor a CIDR range is refused. */
export function parseTrustedProxies(value: string | undefined): string[] {
  const list = (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [addr, bits] = entry.split('/');
    const family = isIP(addr);
    const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!family || !okBits) {
      throw new Error(
        `TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, ::1).`,
      );
    }
  }
  return list;
}

function blockList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) -> `127.0.0.1`. */
function plain(address: string): string {
  const a = address.trim().replace(/^\[|\]$/g, '');
  return a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

export function createAddressResolver(trusted: string[]) {
  const list = blockList(trusted);
  const isTrusted = (a: string) => {
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
  /**
   * The client as far as the trusted proxies vouch for it: walk the chain (X-Forwarded-For entries, then the socket
   * peer) from the right while each hop is a trusted proxy; the first untrusted hop is the client.
   */
  return (peer: string | undefined, forwardedFor: string | string[] | undefined): string => {
    const direct = plain(peer ?? '');
    if (!isTrusted(direct)) return direct || 'unknown';
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
    const hops = header
      .split(',')
      .map(plain)
      .filter((h) => isIP(h) !== 0);
    let client = direct;
    for (let i = hops.length - 1; i >= 0; i--) {
      client = hops[i];
      if (!isTrusted(client)) break;
    }
    return client;
  };
}

const newNonce = () => randomBytes(18).toString('base64');

/** The pages' policy: scripts only with this response's nonce (and what they load), no plugins, no framing. */
export function pageCsp(nonce: string, o: Pick<TFrontdoorOptions, 'dev' | 'connectSrc'>): string {
  const script = [`'self'`, `'nonce-${nonce}'`, `'strict-dynamic'`, ...(o.dev ? [`'unsafe-eval'`] : [])];
  const connect = [`'self'`, ...o.connectSrc, ...(o.dev ? ['ws:'] : [])];
  return [
    `default-src 'self'`,
    `script-src ${script.join(' ')}`,
    // Inline style attributes (charts, Radix positioning) cannot carry a nonce; styles cannot run code.
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self' data:`,
    `connect-src ${connect.join(' ')}`,
    `frame-ancestors 'none'`,
    `frame-src 'none'`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
  ].join('; ');
}

/** JSON and event streams never need to load anything. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
});

function familyOf(pathname: string): TErrorFamily | null {
  if (pathname === '/v1' || pathname.startsWith('/v1/')) return 'v1';
  if (pathname === '/api' || pathname.startsWith('/api/')) return 'api';
  return null;
}

/**
 * A URL no route can read: bad percent-encoding (`%E0%A4%A`), a NUL byte (Postgres refuses 0x00 in text), or a
 * path over 8 KB. Returns the sentence to answer with, or null when the URL is fine.
 */
export function badUrl(rawUrl: string): { message: string; param: string } | null {
  if (rawUrl.length > 8192) return { message: 'The URL is longer than 8192 characters.', param: 'url' };
  const q = rawUrl.indexOf('?');
  const parts: [string, string][] = [['path', q < 0 ? rawUrl : rawUrl.slice(0, q)]];
  if (q >= 0) parts.push(['query', rawUrl.slice(q + 1)]);
  for (const [param, part] of parts) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(param === 'query' ? part.replace(/\+/g, ' ') : part);
    } catch {
      return { message: `The URL's ${param} is not valid percent-encoded UTF-8.`, param };
    }
    if (decoded.includes('\0')) return { message: `The URL's ${param} holds a NUL byte.`, param };
  }
  return null;
}

const STATUS_CODE: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  500: 'internal_error',
};

const STATUS_MESSAGE: Record<number, string> = {
  404: 'No such route.',
  405: 'This route does not take that method.',
  413: 'The request body is too large.',
};

/** The error body the API of `family` answers a bare framework status with. */
function frameworkError(family: TErrorFamily, status: number, method: string, pathname: string): string {
  const code = STATUS_CODE[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
  const message =
    status === 404
      ? `No route ${method} ${pathname}.`
      : status === 405
        ? `${pathname} does not take ${method}.`
        : (STATUS_MESSAGE[status] ??
          (status >= 500 ? 'Something went wrong on our side.' : 'The request is not valid.'));
  return JSON.stringify(errorBody(family, { status, code, message, param: null }));
}

function contentTypeOf(headers: unknown): string {
  if (!headers || typeof headers !== 'object') return '';
  if (Array.isArray(headers)) {
    // writeHead(status, ['content-type', 'x', ...]) raw pairs
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (String(headers[i]).toLowerCase() === 'content-type') return String(headers[i + 1]);
    return '';
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>))
    if (k.toLowerCase() === 'content-type') return String(v);
  return '';
}

/**
 * Rewrites the framework's own error answers under /api and /v1 (HTML or empty 404/405/500) into the API's error
 * shape. Our route handlers always answer JSON (or an event stream, or a file download with its own type), so only
 * answers with another content type are touched, and their status is kept.
 */
function rewriteFrameworkErrors(
  req: IncomingMessage,
  res: ServerResponse,
  family: TErrorFamily,
  pathname: string,
): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  let replacement: string | null = null;

  const decide = (status: number, headerArg: unknown): boolean => {
    if (status < 400) return false;
    const type = contentTypeOf(headerArg) || String(res.getHeader('content-type') ?? '');
    if (/json|event-stream|octet-stream|x-ndjson|jsonl|tar|zip/i.test(type)) return false;
    replacement = frameworkError(family, status, req.method ?? 'GET', pathname);
    return true;
  };
  const replaced = (status: number) => {
    for (const name of res.getHeaderNames()) if (name !== 'allow' && name !== 'retry-after') res.removeHeader(name);
    return writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(replacement as string)),
      'content-security-policy': API_CSP,
      ...SECURITY_HEADERS,
    });
  };

  res.writeHead = ((status: number, ...rest: unknown[]) => {
    const headerArg = typeof rest[0] === 'string' ? rest[1] : rest[0];
    if (!res.headersSent && decide(status, headerArg)) return replaced(status);
    return writeHead(status, ...rest);
  }) as typeof res.writeHead;
  res.write = ((...args: unknown[]) => {
    if (!res.headersSent && replacement === null && decide(res.statusCode, null)) replaced(res.statusCode);
    if (replacement !== null) return true; // the framework's body is dropped
    return write(...args);
  }) as typeof res.write;
  res.end = ((...args: unknown[]) => {
    if (!res.headersSent && replacement === null && decide(res.statusCode, null)) replaced(res.statusCode);
    if (replacement !== null) {
      const cb = args.find((a) => typeof a === 'function');
      return end(replacement, cb);
    }
    return end(...args);
  }) as typeof res.end;
}

export type TFrontdoorConfig = TFrontdoorOptions & {
  /** When stored files have an origin of their own (STORAGE_PUBLIC_URL), its host: only /api/storage/* there. */
  storageHost: string | null;
};

/** The front door's settings from the environment (TRUSTED_PROXIES, STORAGE_PUBLIC_URL, S3 endpoints, APP_URL). */
export function frontdoorConfig(env: Record<string, string | undefined>, dev: boolean): TFrontdoorConfig {
  const origin = (v: string | undefined) => {
    try {
      return v ? new URL(v).origin : null;
    } catch {
      return null;
    }
  };
  const app = origin(env.APP_URL) ?? 'http://localhost:3000';
  const storage = origin(env.STORAGE_PUBLIC_URL);
  const s3 = origin(env.S3_PUBLIC_ENDPOINT) ?? origin(env.S3_ENDPOINT);
  const connectSrc = [s3, storage].filter((o): o is string => o !== null && o !== app);
  return {
    trustedProxies: parseTrustedProxies(env.TRUSTED_PROXIES),
    dev,
    connectSrc,
    storageHost: storage && storage !== app ? new URL(storage).host : null,
  };
}

const STORAGE_PATHS = ['/api/storage/upload', '/api/storage/download'];

/**
 * Everything the front door does to one request, then `next` (Next.js's handler). Answers by itself only for a URL
 * no route can read, and for the wrong origin of stored files.
 */
export function createFrontdoor(config: TFrontdoorConfig) {
  const resolveClient = createAddressResolver(config.trustedProxies);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const family = familyOf(pathname);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    res.setHeader('content-security-policy', API_CSP);

    const refuse = (status: number, code: string, message: string, param: string | null) => {
      const body = JSON.stringify(errorBody(family ?? 'api', { status, code, message, param }));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const bad = badUrl(rawUrl);
    if (bad) {
      refuse(400, 'invalid_request', bad.message, bad.param);
      return;
    }
    // Stored files from their own origin only (content-types.ts in @crucible/storage is the first line; this keeps
    // the console's origin out of the way entirely when STORAGE_PUBLIC_URL names another one).
    if (config.storageHost) {
      const onStorageHost = (req.headers.host ?? '') === config.storageHost;
      if (onStorageHost !== STORAGE_PATHS.includes(pathname)) {
        refuse(404, 'not_found', `No route ${req.method} ${pathname} on this host.`, null);
        return;
      }
    }

    // The only X-Forwarded-For the app sees is the client as the trusted proxies vouch for it.
    const client = resolveClient(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    req.headers['x-forwarded-for'] = client;
    delete req.headers['x-real-ip'];

    if (family) {
      delete req.headers['content-security-policy'];
      rewriteFrameworkErrors(req, res, family, pathname);
    } else {
      const policy = pageCsp(newNonce(), config);
      // Next.js takes the nonce for its own scripts from the request's policy.
      req.headers['content-security-policy'] = policy;
      res.setHeader('content-security-policy', policy);
    }
    next();
  };
}
