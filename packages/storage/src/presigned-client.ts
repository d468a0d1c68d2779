import type { TPresignedUpload } from './types';

/**
 * Uploads a file to a presigned target from either driver. No Node imports: the console's browser code can use
 * it too (with a Blob/File). Returns the fetch Response; a refused upload (e.g. over the size limit) is a
 * non-2xx status, never an exception.
 */
export async function uploadToPresigned(
  target: Pick<TPresignedUpload, 'url' | 'method' | 'fields' | 'headers'>,
  file: Blob,
  init: { signal?: AbortSignal } = {},
): Promise<Response> {
  if (target.method === 'POST') {
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields ?? {})) form.append(name, value);
    // S3 ignores every field after `file`, so it must come last.
    form.append('file', file);
    return fetch(target.url, { method: 'POST', body: form, signal: init.signal });
  }
  return fetch(target.url, { method: 'PUT', body: file, headers: target.headers, signal: init.signal });
}
