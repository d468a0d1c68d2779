import type { Readable } from 'node:stream';

export type TPutOptions = {
  contentType?: string;
  /** Known size in bytes; lets S3 upload a stream in one request instead of guessing part sizes. */
  size?: number;
};

export type TPutResult = { key: string; size: number; etag: string };

export type TObjectStat = {
  key: string;
  size: number;
  contentType: string;
  etag: string;
  lastModified: Date;
};

export type TObjectInfo = { key: string; size: number; lastModified: Date };

export type TPresignedPutOptions = {
  /** Uploads over this many bytes are refused by the server (S3 POST policy / local route). */
  maxBytes: number;
  expiresSec?: number;
  contentType?: string;
};

/**
 * How a client uploads: for `POST`, send multipart/form-data with every entry of `fields` first and the file
 * last under the name `file`; for `PUT`, send the bytes as the body with `headers`. `uploadToPresigned` does
 * either (browser or Node).
 */
export type TPresignedUpload = {
  url: string;
  method: 'POST' | 'PUT';
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  expiresAt: Date;
};

export type TPresignedGetOptions = { filename?: string };

/** `attachment; filename="..."; filename*=UTF-8''...` (RFC 6266: an ASCII fallback plus the exact UTF-8 name). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export type TStorageHealth = { ok: boolean; driver: 'local' | 's3'; detail: string };

export type Storage = {
  readonly driver: 'local' | 's3';
  putObject(key: string, body: Buffer | Readable, opts?: TPutOptions): Promise<TPutResult>;
  /** Throws StorageError('not_found') when the key does not exist. */
  getObject(key: string): Promise<Readable>;
  /** Bytes [offset, offset + length) — or to the end when length is omitted. */
  getObjectRange(key: string, offset: number, length?: number): Promise<Readable>;
  /** null when the key does not exist. */
  statObject(key: string): Promise<TObjectStat | null>;
  /** Idempotent: deleting a missing key is not an error. */
  deleteObject(key: string): Promise<void>;
  deleteObjects(keys: string[]): Promise<void>;
  /** Every object whose key starts with `prefix` (recursive), sorted by key. */
  listObjects(prefix: string): Promise<TObjectInfo[]>;
  presignedPut(key: string, opts: TPresignedPutOptions): Promise<TPresignedUpload>;
  /** `filename`: the response says `Content-Disposition: attachment` with that name (browsers save it so). */
  presignedGet(key: string, expiresSec?: number, opts?: TPresignedGetOptions): Promise<string>;
  health(): Promise<TStorageHealth>;
};

export const DEFAULT_PRESIGN_EXPIRY_SEC = 15 * 60;
/** S3's limit for SigV4 presigned URLs is 7 days; we use it for both drivers. */
export const MAX_PRESIGN_EXPIRY_SEC = 7 * 24 * 3600;
