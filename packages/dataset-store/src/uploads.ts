import { workspaceKey } from '@crucible/storage';

// Uploads go straight from the browser (or an API client) to object storage under a key the console chose; an
// import then validates the stored file into a version (the housekeeping worker's `dataset.import` job).

export function uploadPrefix(workspaceId: string, datasetId: string, uploadId: string): string {
  return `${workspaceKey(workspaceId, 'datasets', datasetId, 'uploads', uploadId)}/`;
}

/** Where the file of upload `uploadId` is stored (one object under the upload's prefix). */
export function newUploadKey(workspaceId: string, datasetId: string, uploadId: string, fileName: string): string {
  return uploadPrefix(workspaceId, datasetId, uploadId) + safeFileName(fileName);
}

/** A storage-safe file name that still reads like the original. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return (cleaned || 'upload').slice(0, 120);
}
