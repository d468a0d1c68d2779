import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { DOWNLOAD_HEADERS, downloadName, servedContentType } from './content-types';
import { loadStorageConfig, type TStorageConfig } from './env';
import { isStorageError, StorageError } from './errors';
import { createLocalStorage } from './local';
import { verifyStorageToken } from './tokens';
import { contentDisposition } from './types';

/**
 * The local driver's stand-ins for S3's presigned URLs, as web-standard handlers the console mounts:
 *
 *   // apps/console/app/api/storage/upload/route.ts
 *   export { handleLocalUpload as PUT } from '@crucible/storage';
 *   // apps/console/app/api/storage/download/route.ts
 *   export { handleLocalDownload as GET } from '@crucible/storage';
 *
 * The token in the query string is the whole authorisation (like an S3 signature), so these routes need no
 * session. They answer 404 when the configured driver is not `local`.
 */

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' },
  });

const STATUS: Record<string, number> = {
  too_large: 413,
  token_invalid: 403,
  token_expired: 403,
  invalid_key: 400,
  invalid_content_type: 400,
  invalid_part: 400,
  not_found: 404,
};

/** The `type` of the console's /api error shape (apps/console/lib/server/errors.ts), for these routes' codes. */
const TYPE: Record<string, string> = {
  too_large: 'invalid_request_error',
  token_invalid: 'permission_error',
  token_expired: 'permission_error',
  invalid_key: 'invalid_request_error',
  invalid_content_type: 'invalid_request_error',
  invalid_part: 'invalid_request_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
};

/** The console's /api error shape: `{error: {type, code, message, param}}`. */
const failure = (status: number, code: string, message: string, param: string | null = null) =>
  json(status, { error: { type: TYPE[code] ?? 'server_error', code, message, param } });

function errorResponse(error: unknown): Response {
  if (isStorageError(error)) {
    const param = error.code.startsWith('token_') ? 'token' : error.code === 'too_large' ? 'body' : null;
    return failure(STATUS[error.code] ?? 500, error.code, error.message, param);
  }
  console.error('[storage] local route failed', error);
  return failure(500, 'internal_error', 'The storage request failed.');
}

function localConfig(config?: TStorageConfig) {
  const c = config ?? loadStorageConfig();
  return c.driver === 'local' ? c : null;
}

/** Verifies an upload token and writes the body at the token's key (size limit enforced while streaming). */
export async function acceptLocalUpload(
  config: Extract<TStorageConfig, { driver: 'local' }>,
  input: { token: string | null; body: Readable; contentLength?: number },
) {
  const claims = verifyStorageToken(config.signingSecret, input.token, ['put', 'part']);
  // Refuse early when the client announced its size; the meter below catches clients that lie or stream.
  if (claims.maxBytes !== undefined && input.contentLength !== undefined && input.contentLength > claims.maxBytes) {
    input.body.destroy();
    throw new StorageError(
      'too_large',
      `The upload (${input.contentLength} bytes) is larger than its limit of ${claims.maxBytes} bytes.`,
    );
  }
  const storage = createLocalStorage(config);
  if (claims.op === 'part') {
    if (!claims.uploadId || !claims.partNumber)
      throw new StorageError('token_invalid', 'The storage link is not valid.');
    return storage.writePart(claims.key, claims.uploadId, claims.partNumber, input.body, { maxBytes: claims.maxBytes });
  }
  return storage.writeStream(claims.key, input.body, { contentType: claims.contentType, maxBytes: claims.maxBytes });
}

export async function handleLocalUpload(request: Request, config?: TStorageConfig): Promise<Response> {
  const local = localConfig(config);
  if (!local) return failure(404, 'not_found', 'Local storage is not enabled.');
  if (request.method !== 'PUT') return failure(405, 'method_not_allowed', 'Use PUT.');
  try {
    const token = new URL(request.url).searchParams.get('token');
    const lengthHeader = request.headers.get('content-length');
    const body = request.body
      ? Readable.fromWeb(request.body as unknown as NodeWebReadableStream<Uint8Array>)
      : Readable.from([]);
    const result = await acceptLocalUpload(local, {
      token,
      body,
      contentLength: lengthHeader ? Number(lengthHeader) : undefined,
    });
    return json(201, result);
  } catch (error) {
    return errorResponse(error);
  }
}

export async function handleLocalDownload(request: Request, config?: TStorageConfig): Promise<Response> {
  const local = localConfig(config);
  if (!local) return failure(404, 'not_found', 'Local storage is not enabled.');
  try {
    const claims = verifyStorageToken(local.signingSecret, new URL(request.url).searchParams.get('token'), 'get');
    const storage = createLocalStorage(local);
    const stat = await storage.statObject(claims.key);
    if (!stat) throw new StorageError('not_found', `No object at "${claims.key}".`);
    // Never the type the uploader declared, always an attachment, never sniffed: a stored file is not a page
    // (see content-types.ts).
    const headers: Record<string, string> = {
      ...DOWNLOAD_HEADERS,
      'content-type': servedContentType(stat.contentType),
      'content-disposition': contentDisposition(claims.filename ?? downloadName(claims.key)),
      etag: `"${stat.etag}"`,
      'cache-control': 'private, no-store',
      'accept-ranges': 'bytes',
    };
    // One byte range, as S3 serves it, so large downloads (model weights) can resume.
    const range = parseRange(request.headers.get('range'), stat.size);
    if (range === 'unsatisfiable') {
      return new Response(null, { status: 416, headers: { 'content-range': `bytes */${stat.size}` } });
    }
    if (range) {
      const stream = await storage.getObjectRange(claims.key, range.start, range.end - range.start + 1);
      return new Response(Readable.toWeb(stream) as unknown as ReadableStream, {
        status: 206,
        headers: {
          ...headers,
          'content-length': String(range.end - range.start + 1),
          'content-range': `bytes ${range.start}-${range.end}/${stat.size}`,
        },
      });
    }
    const stream = await storage.getObject(claims.key);
    return new Response(Readable.toWeb(stream) as unknown as ReadableStream, {
      status: 200,
      headers: { ...headers, 'content-length': String(stat.size) },
    });
  } catch (error) {
    return errorResponse(error);
  }
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` -> inclusive [start, end]; null when absent or not a single range. */
export function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null; // absent or several ranges: serve the whole object
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
