import { getPrisma } from '@crucible/db';
import { getStorage, isAllowedUploadType, UPLOAD_CONTENT_TYPES, workspaceKey } from '@crucible/storage';
import { AppError } from '../errors';
import { readDatasetLimits } from './limits';
import { newId, writeVersion } from './store';

// Uploads go straight from the browser (or an API client) to object storage under a key this server chose;
// "complete" then validates the stored file server-side. Progress of running imports lives in this process (one
// console process serves a deployment; a restart loses only the progress display, never a version: a version row
// is created only after its content is stored).

export type TImportStatus = 'validating' | 'succeeded' | 'failed';

export type TImport = {
  id: string;
  workspaceId: string;
  datasetId: string;
  fileName: string;
  status: TImportStatus;
  totalBytes: number;
  bytesRead: number;
  rowsRead: number;
  versionId: string | null;
  error: { code: string; message: string } | null;
  startedAt: string;
  finishedAt: string | null;
};

const g = globalThis as typeof globalThis & { __crucibleImports?: Map<string, TImport> };
g.__crucibleImports ??= new Map();
const imports = g.__crucibleImports;
const KEEP_MS = 60 * 60 * 1000;

function forget(): void {
  const now = Date.now();
  for (const [id, i] of imports) if (i.finishedAt && now - Date.parse(i.finishedAt) > KEEP_MS) imports.delete(id);
}

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

export async function startUpload(
  ws: { id: string },
  datasetId: string,
  file: { fileName: string; size: number; contentType?: string },
) {
  const limits = readDatasetLimits();
  const maxBytes = file.fileName.toLowerCase().endsWith('.xlsx') ? limits.maxXlsxBytes : limits.maxBytes;
  if (file.size > maxBytes) {
    throw new AppError('invalid_request', `The file is ${file.size} bytes; the limit is ${maxBytes} bytes.`, 'size');
  }
  if (!isAllowedUploadType(file.contentType)) {
    throw new AppError(
      'invalid_request',
      `Uploads may not be declared as "${file.contentType}"; send a dataset file type (${UPLOAD_CONTENT_TYPES.join(', ')}) or none.`,
      'contentType',
    );
  }
  const uploadId = newId('up_');
  const key = newUploadKey(ws.id, datasetId, uploadId, file.fileName);
  // The link takes exactly the declared size, not the instance limit: a token for a 1 KB file cannot store 1 GiB.
  const upload = await getStorage().presignedPut(key, {
    maxBytes: file.size,
    contentType: file.contentType || undefined,
  });
  return { uploadId, key, fileName: file.fileName, maxBytes: file.size, upload, limits };
}

export function listImports(workspaceId: string, datasetId: string): TImport[] {
  forget();
  return [...imports.values()]
    .filter((i) => i.workspaceId === workspaceId && i.datasetId === datasetId)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

export function getImport(workspaceId: string, id: string): TImport | null {
  const i = imports.get(id);
  return i && i.workspaceId === workspaceId ? i : null;
}

/**
 * Starts validating an uploaded file into a new version. Resolves with the import record at once; `done` settles
 * when the import has finished (failed imports resolve too, with `status: 'failed'`).
 */
export async function completeUpload(
  ctx: { workspaceId: string; userId: string | null },
  datasetId: string,
  req: {
    uploadId: string;
    placeholders?: Record<string, string>;
    datasetInfo?: string | Record<string, unknown>;
    datasetInfoName?: string;
    /** The name to record; default the stored name. */
    fileName?: string;
  },
): Promise<{ record: TImport; done: Promise<TImport> }> {
  const running = imports.get(req.uploadId);
  if (running?.status === 'validating') throw new AppError('conflict', 'This upload is already being imported.');
  const storage = getStorage();
  const objects = await storage.listObjects(uploadPrefix(ctx.workspaceId, datasetId, req.uploadId));
  const object = objects[0];
  if (!object) {
    throw new AppError('invalid_request', 'Nothing was uploaded for this upload id (or it has expired).', 'uploadId');
  }
  const storedName = object.key.slice(object.key.lastIndexOf('/') + 1);
  const fileName = req.fileName ?? storedName;
  const record: TImport = {
    id: req.uploadId,
    workspaceId: ctx.workspaceId,
    datasetId,
    fileName,
    status: 'validating',
    totalBytes: object.size,
    bytesRead: 0,
    rowsRead: 0,
    versionId: null,
    error: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
  };
  imports.set(record.id, record);
  const done = (async () => {
    try {
      const version = await writeVersion(
        {
          source: (await storage.getObject(object.key)) as AsyncIterable<Uint8Array>,
          fileName,
          placeholders: req.placeholders,
          datasetInfo: req.datasetInfo,
          datasetInfoName: req.datasetInfoName,
        },
        {
          workspaceId: ctx.workspaceId,
          datasetId,
          userId: ctx.userId,
          originalObjectKey: object.key,
          originalFilename: fileName,
          onProgress: (p) => {
            record.bytesRead = p.bytes;
            record.rowsRead = p.rows;
          },
        },
      );
      record.versionId = version.id;
      record.status = 'succeeded';
    } catch (error) {
      record.status = 'failed';
      record.error =
        error instanceof AppError
          ? { code: error.code, message: error.message }
          : { code: 'internal_error', message: 'The import failed on our side; try again.' };
      if (!(error instanceof AppError)) console.error('[datasets] import failed', error);
    }
    record.finishedAt = new Date().toISOString();
    return record;
  })();
  return { record, done };
}

/** The dataset of this workspace (not deleted), or 404. */
export async function findDataset(workspaceId: string, datasetId: string) {
  const row = await getPrisma().dataset.findFirst({ where: { id: datasetId, workspaceId, deletedAt: null } });
  if (!row) throw new AppError('not_found', 'No such dataset.');
  return row;
}

export async function findVersion(workspaceId: string, datasetId: string, versionId: string) {
  await findDataset(workspaceId, datasetId);
  const row = await getPrisma().datasetVersion.findFirst({ where: { id: versionId, datasetId, workspaceId } });
  if (!row) throw new AppError('not_found', 'No such dataset version.');
  return row;
}
