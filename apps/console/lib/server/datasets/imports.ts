import { newId, newUploadKey, readDatasetLimits, uploadPrefix } from '@crucible/dataset-store';
import { getPrisma, isUniqueViolation } from '@crucible/db';
import { datasetImportJob, enqueue, getQueue, QUEUE_NAMES, readWorkerHeartbeats } from '@crucible/jobs';
import { getStorage, isAllowedUploadType, UPLOAD_CONTENT_TYPES } from '@crucible/storage';
import { AppError } from '../errors';

// Uploads go straight from the browser (or an API client) to object storage under a key this server chose;
// "complete" then records a DatasetImport row and enqueues `dataset.import` on the housekeeping queue, whose worker
// validates the stored file into a version, writing its progress and outcome to the row (issue 17: imports ran in
// this process with their progress in a process-global map, so a second console replica saw nothing and a restart
// lost the import). Every read here is the row, so any console replica answers the same.

export { newUploadKey } from '@crucible/dataset-store';

type TImportStatus = 'validating' | 'succeeded' | 'failed' | 'cancelled';

/** The API shape of an import (GET …/imports, POST …/imports): unchanged since imports were in-process. */
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
  /** When a cancel was asked for (the worker stops at its next progress write), or null. */
  cancelRequestedAt: string | null;
  startedAt: string;
  finishedAt: string | null;
};

type TImportRow = {
  id: string;
  workspaceId: string;
  datasetId: string;
  fileName: string;
  status: TImportStatus;
  totalBytes: bigint;
  bytesRead: bigint;
  rowsRead: number;
  versionId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  cancelRequestedAt: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
};

function importView(row: TImportRow): TImport {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    datasetId: row.datasetId,
    fileName: row.fileName,
    status: row.status,
    totalBytes: Number(row.totalBytes),
    bytesRead: Number(row.bytesRead),
    rowsRead: row.rowsRead,
    versionId: row.versionId,
    // An errorMessage on a running import is a note ("Retrying after: ..."), not its outcome.
    error:
      row.status === 'failed' || row.status === 'cancelled'
        ? { code: row.errorCode ?? 'internal_error', message: row.errorMessage ?? 'The import failed.' }
        : null,
    cancelRequestedAt: row.cancelRequestedAt?.toISOString() ?? null,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
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

/** The dataset's imports, newest first (the last 100). */
export async function listImports(workspaceId: string, datasetId: string): Promise<TImport[]> {
  const rows = await getPrisma().datasetImport.findMany({
    where: { workspaceId, datasetId },
    orderBy: { startedAt: 'desc' },
    take: 100,
  });
  return rows.map(importView);
}

/** One import of this workspace's dataset, or 404. */
export async function getImport(workspaceId: string, datasetId: string, id: string): Promise<TImport> {
  const row = await getPrisma().datasetImport.findFirst({ where: { id, workspaceId, datasetId } });
  if (!row) throw new AppError('not_found', 'No such import.');
  return importView(row);
}

/**
 * Starts validating an uploaded file into a new version: records the import (its id is the upload's) and enqueues
 * it for the housekeeping worker. Answers the row at once; `waitForImport` follows it to the end. An upload is
 * imported once: completing it again while it runs or after it succeeded is a conflict, after a failure or a
 * cancel it starts again (with the options given now).
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
): Promise<TImport> {
  const prisma = getPrisma();
  const existing = await prisma.datasetImport.findUnique({ where: { id: req.uploadId } });
  if (existing && (existing.workspaceId !== ctx.workspaceId || existing.datasetId !== datasetId)) {
    // Upload ids are random; one of another workspace or dataset is, to this caller, what it is: nothing uploaded.
    throw new AppError('invalid_request', 'Nothing was uploaded for this upload id (or it has expired).', 'uploadId');
  }
  if (existing?.status === 'validating') throw new AppError('conflict', 'This upload is already being imported.');
  if (existing?.status === 'succeeded') {
    throw new AppError('conflict', 'This upload was imported already; upload the file again to import it again.');
  }
  const objects = await getStorage().listObjects(uploadPrefix(ctx.workspaceId, datasetId, req.uploadId));
  const object = objects[0];
  if (!object) {
    throw new AppError('invalid_request', 'Nothing was uploaded for this upload id (or it has expired).', 'uploadId');
  }
  const storedName = object.key.slice(object.key.lastIndexOf('/') + 1);
  const fileName = req.fileName ?? storedName;
  const fresh = {
    objectKey: object.key,
    fileName,
    options: JSON.parse(
      JSON.stringify({
        placeholders: req.placeholders,
        datasetInfo: req.datasetInfo,
        datasetInfoName: req.datasetInfoName,
      }),
    ),
    status: 'validating' as const,
    totalBytes: BigInt(object.size),
    bytesRead: 0n,
    rowsRead: 0,
    errorCode: null,
    errorMessage: null,
    cancelRequestedAt: null,
    workerId: null,
    createdById: ctx.userId,
    startedAt: new Date(),
    finishedAt: null,
  };
  if (existing) {
    // Only a finished, unsuccessful import starts again; two requests racing here: one wins, one is told.
    const restarted = await prisma.datasetImport.updateMany({
      where: { id: existing.id, status: { in: ['failed', 'cancelled'] }, versionId: null },
      data: { ...fresh, attempts: 0 },
    });
    if (restarted.count !== 1) throw new AppError('conflict', 'This upload is already being imported.');
  } else {
    try {
      await prisma.datasetImport.create({
        data: { id: req.uploadId, workspaceId: ctx.workspaceId, datasetId, ...fresh },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('conflict', 'This upload is already being imported.');
      throw error;
    }
  }
  let queued: { id: string };
  try {
    queued = await enqueue(datasetImportJob, { importId: req.uploadId });
  } catch (error) {
    // The row must not say "validating" for a job no worker will ever see.
    const message = `The import could not be queued (${(error as Error).message}); try again in a few seconds.`;
    await prisma.datasetImport
      .update({
        where: { id: req.uploadId },
        data: { status: 'failed', errorCode: 'queue_unavailable', errorMessage: message, finishedAt: new Date() },
      })
      .catch(() => undefined);
    throw new AppError('unavailable', message, null, { 'retry-after': '5' });
  }
  const row = await prisma.datasetImport.update({ where: { id: req.uploadId }, data: { queueJobId: queued.id } });
  return importView(row);
}

/**
 * Whether a housekeeping worker is alive to run imports (its heartbeat). A request that would wait for an import
 * asks first, so it does not hold a connection for minutes while nothing can run it. Redis not answering: assume one
 * is (the wait is bounded anyway).
 */
export async function housekeepingWorkerRunning(): Promise<boolean> {
  const beats = await readWorkerHeartbeats({ kind: 'housekeeping' }).catch(() => null);
  return beats === null || beats.some((b) => b.state !== 'unresponsive');
}

/** The answer of a route that needs the import's outcome now when no worker can give it. */
export const noHousekeepingWorker = (param: string | null = null) =>
  new AppError(
    'unavailable',
    'No housekeeping worker is running to validate the file; it is queued and is imported once one starts.',
    param,
    { 'retry-after': '30' },
  );

const WAIT_POLL_MS = 200;
/** The longest a `wait: true` request is held; then it answers with the import still running (202). */
const IMPORT_WAIT_MS = 10 * 60 * 1000;

/**
 * Follows an import until it has finished (or `timeoutMs` passed, or the caller went away), reading its row, so it
 * works whichever console replica created the import and whichever worker runs it.
 */
export async function waitForImport(
  workspaceId: string,
  id: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<TImport> {
  const deadline = Date.now() + (options.timeoutMs ?? IMPORT_WAIT_MS);
  for (;;) {
    const row = await getPrisma().datasetImport.findFirst({ where: { id, workspaceId } });
    if (!row) throw new AppError('not_found', 'No such import.');
    if (row.status !== 'validating' || Date.now() > deadline || options.signal?.aborted) return importView(row);
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}

/**
 * Asks a running import to stop: the flag is on the row, and the worker stops at its next progress write (no version
 * is made). An import still waiting in the queue is taken out of it and cancelled at once. Cancelling a cancelled
 * import answers it as it is; one that has finished otherwise is a conflict.
 */
export async function cancelImport(workspaceId: string, datasetId: string, id: string): Promise<TImport> {
  const prisma = getPrisma();
  const row = await prisma.datasetImport.findFirst({ where: { id, workspaceId, datasetId } });
  if (!row) throw new AppError('not_found', 'No such import.');
  if (row.status === 'cancelled') return importView(row);
  if (row.status !== 'validating') {
    throw new AppError('conflict', `This import has finished (${row.status}); there is nothing to cancel.`);
  }
  await prisma.datasetImport.updateMany({
    where: { id, status: 'validating', cancelRequestedAt: null },
    data: { cancelRequestedAt: new Date() },
  });
  if (row.queueJobId) {
    // Not taken by a worker yet: remove it, so the cancel does not wait for a worker to come by. A job a worker holds
    // is locked and refuses removal; that worker sees the flag instead.
    const job = await getQueue(QUEUE_NAMES.housekeeping)
      .getJob(row.queueJobId)
      .catch(() => undefined);
    const state = await job?.getState().catch(() => undefined);
    if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
      const removed = await job.remove().then(
        () => true,
        () => false,
      );
      if (removed) {
        await prisma.datasetImport.updateMany({
          where: { id, status: 'validating' },
          data: {
            status: 'cancelled',
            errorCode: 'cancelled',
            errorMessage: 'The import was cancelled before it started.',
            finishedAt: new Date(),
          },
        });
      }
    }
  }
  return importView(await prisma.datasetImport.findUniqueOrThrow({ where: { id } }));
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
