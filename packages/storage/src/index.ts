import { loadStorageConfig, type TStorageConfig } from './env';
import { createLocalStorage } from './local';
import { createS3Storage } from './s3';
import type { Storage } from './types';

export {
  checkedUploadType,
  DOWNLOAD_HEADERS,
  downloadName,
  isAllowedUploadType,
  servedContentType,
  UPLOAD_CONTENT_TYPES,
} from './content-types';
export { findRepoRoot, loadStorageConfig, type TStorageConfig, ZStorageEnv } from './env';
export { isStorageError, StorageError, type TStorageErrorCode } from './errors';
export { assertValidKey, assertValidPrefix, instanceKey, workspaceKey, workspacePrefix } from './keys';
export { createLocalStorage, LOCAL_DOWNLOAD_PATH, LOCAL_UPLOAD_PATH } from './local';
export { acceptLocalUpload, handleLocalDownload, handleLocalUpload } from './local-routes';
export { dirChecksum, ModelFilesError, modelDir } from './model-files';
export { uploadToPresigned } from './presigned-client';
export { createMinioClient, createS3Storage } from './s3';
export { downloadObject, downloadPrefix, uploadDir } from './sync';
export { type TTarEntry, tarHeader, tarObjects, tarSize } from './tar';
export { signStorageToken, type TStorageTokenClaims, verifyStorageToken, ZStorageTokenClaims } from './tokens';
export type * from './types';
export {
  contentDisposition,
  MULTIPART_MAX_PART_BYTES,
  MULTIPART_MAX_PARTS,
  MULTIPART_MIN_PART_BYTES,
} from './types';

/** The configured storage: S3 when S3_ENDPOINT is set (or STORAGE_DRIVER=s3), else files under STORAGE_DIR. */
export function createStorage(env: Record<string, string | undefined> = process.env): Storage {
  return createStorageFromConfig(loadStorageConfig(env));
}

let shared: Storage | undefined;

/** The process-wide storage for process.env, created on first use (route handlers, workers). */
export function getStorage(): Storage {
  shared ??= createStorage();
  return shared;
}

export function createStorageFromConfig(config: TStorageConfig): Storage {
  return config.driver === 's3' ? createS3Storage(config) : createLocalStorage(config);
}
