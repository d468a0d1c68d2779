// @crucible/dataset-store: dataset versions as stored (issue 17). Writing one from a source (validation with the
// instance's limits and the Qwen tokenizer, canonical JSONL and invalid rows to storage, then the DatasetVersion
// row), reading its rows back, and where uploads live. The console (edits, previews, publishing) and the
// housekeeping worker (imports of uploaded files) both call it, so a version is written one way.

export { DatasetStoreError, isDatasetStoreError, type TDatasetStoreErrorCode } from './errors';
export { ACCEPTED_EXTENSIONS, readDatasetLimits, type TDatasetLimits, ZDatasetLimitsEnv } from './limits';
export {
  CANONICAL_FORMAT,
  collectRows,
  invalidRowCount,
  invalidRowsKey,
  newId,
  openInvalidRows,
  openRows,
  type TKeepInvalid,
  type TStoredInvalidRow,
  type TWriteSource,
  type TWriteTarget,
  validationOptions,
  versionObjectKeys,
  writeVersion,
} from './store';
export { qwenEncode, TOKENIZER_NAME } from './tokenizer';
export { newUploadKey, safeFileName, uploadPrefix } from './uploads';
