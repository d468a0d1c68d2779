import { StorageError } from './errors';

/**
 * What a stored object may be labelled as, and how it is served.
 *
 * Objects come from users (dataset files) and are served back to browsers, so a declared type is never trusted:
 * an upload that claimed `text/html` and held `<script>` was served from the console's origin as a page and could
 * act in another workspace (issue 11, finding 1). The rules, in one place:
 * - an upload may only declare one of UPLOAD_CONTENT_TYPES (or none): `isAllowedUploadType`;
 * - a download is always an attachment, labelled with `servedContentType` (never what the uploader claimed, only a
 *   type a browser will not render or execute), with `X-Content-Type-Options: nosniff` and a CSP that allows
 *   nothing: `DOWNLOAD_HEADERS`.
 */

/** The types a dataset or model upload may declare (files the platform reads: JSONL/JSON/CSV/TSV/XLSX/text/archives). */
export const UPLOAD_CONTENT_TYPES: readonly string[] = Object.freeze([
  'application/octet-stream',
  'application/json',
  'application/jsonl',
  'application/x-jsonlines',
  'application/x-ndjson',
  'application/jsonlines',
  'text/plain',
  'text/csv',
  'text/tab-separated-values',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/x-tar',
  'application/gzip',
  'application/zip',
]);

/** The media type without parameters, lower-cased (`Text/Plain; charset=utf-8` -> `text/plain`). */
export function mediaType(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

/** An empty or absent type is allowed (browsers send none for `.jsonl`); otherwise it must be on the list. */
export function isAllowedUploadType(contentType: string | null | undefined): boolean {
  if (!contentType || contentType.trim() === '') return true;
  return UPLOAD_CONTENT_TYPES.includes(mediaType(contentType));
}

/** The declared type, checked: a presigned upload never carries a type outside the list. */
export function checkedUploadType(contentType: string): string {
  if (!isAllowedUploadType(contentType)) {
    throw new StorageError(
      'invalid_content_type',
      `Uploads may not declare "${contentType}"; use one of ${UPLOAD_CONTENT_TYPES.join(', ')} (or none).`,
    );
  }
  return contentType;
}

/**
 * The type a stored object is served with. Only types no browser renders as a document are kept, so even an object
 * stored before uploads were checked (or written by S3 directly) cannot become a page; everything else is
 * `application/octet-stream`.
 */
const SERVED_AS_IS = new Set([
  'application/octet-stream',
  'application/json',
  'application/jsonl',
  'application/x-ndjson',
  'application/x-tar',
  'application/gzip',
  'application/zip',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
]);

export function servedContentType(stored: string | null | undefined): string {
  const t = stored ? mediaType(stored) : '';
  return SERVED_AS_IS.has(t) ? t : 'application/octet-stream';
}

/** Headers every stored-object download carries, whatever serves it. */
export const DOWNLOAD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
});

/** The last segment of a key: the file name a download is saved under when no other name was given. */
export function downloadName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1) || 'download';
}
