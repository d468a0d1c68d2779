/**
 * Errors as typed codes with a human sentence: callers branch on `code`, people read `message`.
 */
export type TStorageErrorCode =
  | 'invalid_key' // the key is empty, absolute, escapes its root, or has odd segments
  | 'not_found' // no object under that key
  | 'too_large' // an upload went over its size limit
  | 'invalid_part' // a multipart upload names a part that is missing, out of range or not the stored one
  | 'invalid_content_type' // an upload declared a content type outside UPLOAD_CONTENT_TYPES
  | 'token_invalid' // a local presigned token was forged, mangled, or is for another method
  | 'token_expired' // a local presigned token is past its expiry
  | 'config_invalid' // the storage env does not validate
  | 'unavailable'; // the backend could not be reached

export class StorageError extends Error {
  readonly code: TStorageErrorCode;

  constructor(code: TStorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

export const isStorageError = (error: unknown, code?: TStorageErrorCode): error is StorageError =>
  error instanceof StorageError && (code === undefined || error.code === code);
