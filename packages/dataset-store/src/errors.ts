/**
 * A failure of a stored-version operation, as a code a caller can branch on and a sentence a person can read:
 * `invalid_request` (the file or its dataset_info.json cannot be read as asked; `param` names the field) or
 * `cancelled` (the caller's signal stopped it before the version was created). The console maps it to its API error
 * shape; the housekeeping worker records it on the DatasetImport row.
 */
export type TDatasetStoreErrorCode = 'invalid_request' | 'cancelled';

export class DatasetStoreError extends Error {
  constructor(
    readonly code: TDatasetStoreErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'DatasetStoreError';
  }
}

export const isDatasetStoreError = (error: unknown, code?: TDatasetStoreErrorCode): error is DatasetStoreError =>
  error instanceof DatasetStoreError && (code === undefined || error.code === code);
