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

/** One stored part of a multipart upload. */
export type TUploadedPart = { partNumber: number; size: number; etag: string };

export type TPresignedPartOptions = {
  /**
   * The local route refuses a part over this many bytes while it streams. A presigned S3 UploadPart URL cannot
   * carry a size limit, so callers check every part's size with listParts before they complete the upload.
   */
  maxBytes: number;
  expiresSec?: number;
};

/** S3's rules for multipart uploads, which both drivers keep: part numbers 1..10000, every part but the last >= 5 MiB. */
export const MULTIPART_MAX_PARTS = 10_000;
export const MULTIPART_MIN_PART_BYTES = 5 * 1024 * 1024;
export const MULTIPART_MAX_PART_BYTES = 5 * 1024 ** 3;

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
  /**
   * Multipart upload (S3's CreateMultipartUpload / UploadPart / ListParts / CompleteMultipartUpload /
   * AbortMultipartUpload; the local driver keeps the parts in a folder no key can name). A client PUTs each part
   * to its presigned URL, in any order and again after a dropped connection; listParts says what is stored.
   * Nothing is visible at `key` until completeMultipartUpload.
   */
  createMultipartUpload(key: string, opts?: { contentType?: string }): Promise<string>;
  /** A `PUT` target for one part (1..10000); uploading the same part again replaces it. */
  presignedUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: TPresignedPartOptions,
  ): Promise<TPresignedUpload>;
  /** The parts stored so far, by part number. Throws StorageError('not_found') for an unknown, completed or aborted upload. */
  listParts(key: string, uploadId: string): Promise<TUploadedPart[]>;
  /**
   * Joins the parts, in part-number order, into the object at `key` and ends the upload. Throws
   * StorageError('invalid_part') when a part is missing or its etag is not the stored one, 'not_found' for an
   * unknown upload.
   */
  completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: Pick<TUploadedPart, 'partNumber' | 'etag'>[],
  ): Promise<TPutResult>;
  /** Drops the upload and its parts. Idempotent: aborting an unknown upload is not an error. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  /** `filename`: the response says `Content-Disposition: attachment` with that name (browsers save it so). */
  presignedGet(key: string, expiresSec?: number, opts?: TPresignedGetOptions): Promise<string>;
  health(): Promise<TStorageHealth>;
};

export const DEFAULT_PRESIGN_EXPIRY_SEC = 15 * 60;
/** S3's limit for SigV4 presigned URLs is 7 days; we use it for both drivers. */
export const MAX_PRESIGN_EXPIRY_SEC = 7 * 24 * 3600;
