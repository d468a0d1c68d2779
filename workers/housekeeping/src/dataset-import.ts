import { DatasetStoreError, isDatasetStoreError, versionObjectKeys, writeVersion } from '@crucible/dataset-store';
import { getPrisma } from '@crucible/db';
import { JobError, QUEUE_DEFAULTS } from '@crucible/jobs';
import type { Storage } from '@crucible/storage';

/**
 * One dataset import (`dataset.import`, issue 17): validates the uploaded file of a DatasetImport row into a new
 * version, the row being the import's truth for every console replica.
 * - progress: bytes and rows read are written to the row at most every `progressEveryMs`; the same write reads
 *   `cancelRequestedAt`, and a cancel stops the reading there (no version, status `cancelled`);
 * - once per import: the version row is created in one transaction with the row's `versionId` (unique), and its files
 *   are named after the import, so a re-run (a killed worker's job put back by BullMQ, a duplicate delivery) makes no
 *   second version and leaves no first attempt's files behind;
 * - a worker shutting down (grace period over) leaves the row `validating`: the job goes back to the queue and the
 *   next worker reads the file again from the start.
 */

export type TImportDeps = {
  storage: Storage;
  workerId: string;
  attempt: number;
  /** The runtime's signal: aborted when this worker shuts down (the job is handed back, not cancelled). */
  signal: AbortSignal;
  log: (message: string) => void;
  progressEveryMs?: number;
};

export type TImportOutcome = { status: 'succeeded' | 'failed' | 'cancelled'; versionId: string | null };

type TOptions = {
  placeholders?: Record<string, string>;
  datasetInfo?: string | Record<string, unknown>;
  datasetInfoName?: string;
};

const PROGRESS_EVERY_MS = 500;
const OUR_SIDE = 'The import failed on our side; try again.';

/** Thrown inside the version's transaction when the row is no longer this run's to finish: rolls the version back. */
class NotOurs extends Error {}

export async function runDatasetImport(importId: string, deps: TImportDeps): Promise<TImportOutcome> {
  const db = getPrisma();
  const row = await db.datasetImport.findUnique({ where: { id: importId } });
  if (!row) throw new JobError('not_found', `Dataset import ${importId} does not exist (its workspace was deleted?).`);
  // Finished already (a duplicate delivery, or a run before a crash got this far): nothing to do again.
  if (row.status !== 'validating') return { status: row.status, versionId: row.versionId };
  const objectName = `import-${row.id}.jsonl`;
  const finish = async (
    status: 'failed' | 'cancelled',
    error: { code: string; message: string },
  ): Promise<TImportOutcome> => {
    const ended = await db.datasetImport.updateMany({
      where: { id: importId, status: 'validating' },
      data: { status, errorCode: error.code, errorMessage: error.message.slice(0, 2000), finishedAt: new Date() },
    });
    if (ended.count !== 1) {
      // Another run of the same import ended it first (a stalled job run twice); its outcome and files stand.
      const now = await db.datasetImport.findUniqueOrThrow({ where: { id: importId } });
      return { status: now.status === 'validating' ? status : now.status, versionId: now.versionId };
    }
    // Files a run may have stored under the import's name before it stopped.
    await deps.storage
      .deleteObjects(versionObjectKeys(row.workspaceId, row.datasetId, objectName))
      .catch(() => undefined);
    return { status, versionId: null };
  };
  if (row.cancelRequestedAt) return finish('cancelled', { code: 'cancelled', message: 'The import was cancelled.' });
  const dataset = await db.dataset.findFirst({ where: { id: row.datasetId, deletedAt: null }, select: { id: true } });
  if (!dataset) return finish('failed', { code: 'not_found', message: 'The dataset was deleted during the import.' });

  await db.datasetImport.update({
    where: { id: importId },
    data: { workerId: deps.workerId, attempts: { increment: 1 }, bytesRead: 0n, rowsRead: 0 },
  });
  const stop = new AbortController();
  const onShutdown = () => stop.abort(deps.signal.reason ?? new Error('worker shutting down'));
  deps.signal.addEventListener('abort', onShutdown, { once: true });
  const progress = { bytes: 0, rows: 0 };
  let writing: Promise<void> | null = null;
  const writeProgress = () => {
    writing ??= db.datasetImport
      .update({
        where: { id: importId },
        data: { bytesRead: BigInt(progress.bytes), rowsRead: progress.rows },
        select: { cancelRequestedAt: true },
      })
      .then((r) => {
        if (r.cancelRequestedAt && !stop.signal.aborted) {
          stop.abort(new DatasetStoreError('cancelled', 'The import was cancelled.'));
        }
      })
      // A missed progress write is retried by the next tick; the import goes on.
      .catch((error) => deps.log(`progress of import ${importId} not written: ${(error as Error).message}`))
      .finally(() => {
        writing = null;
      });
  };
  const timer = setInterval(writeProgress, deps.progressEveryMs ?? PROGRESS_EVERY_MS);
  timer.unref();
  const options = (row.options ?? {}) as TOptions;
  try {
    const version = await writeVersion(
      {
        source: (await deps.storage.getObject(row.objectKey)) as AsyncIterable<Uint8Array>,
        fileName: row.fileName,
        placeholders: options.placeholders,
        datasetInfo: options.datasetInfo,
        datasetInfoName: options.datasetInfoName,
      },
      {
        workspaceId: row.workspaceId,
        datasetId: row.datasetId,
        userId: row.createdById,
        originalObjectKey: row.objectKey,
        originalFilename: row.fileName,
        onProgress: (p) => {
          progress.bytes = p.bytes;
          progress.rows = p.rows;
        },
        signal: stop.signal,
        objectName,
        inTransaction: async (tx, v) => {
          const claimed = await tx.datasetImport.updateMany({
            where: { id: importId, status: 'validating', versionId: null },
            data: {
              status: 'succeeded',
              versionId: v.id,
              bytesRead: BigInt(progress.bytes),
              rowsRead: progress.rows,
              errorCode: null,
              errorMessage: null,
              finishedAt: new Date(),
            },
          });
          if (claimed.count !== 1) throw new NotOurs();
        },
      },
    );
    deps.log(`import ${importId}: version ${version.number} of dataset ${row.datasetId} (${version.rowCount} rows)`);
    return { status: 'succeeded', versionId: version.id };
  } catch (error) {
    if (error instanceof NotOurs) {
      // Another run finished or cancelled it meanwhile; its outcome stands (and its files are its own).
      const now = await db.datasetImport.findUniqueOrThrow({ where: { id: importId } });
      return { status: now.status === 'validating' ? 'failed' : now.status, versionId: now.versionId };
    }
    if (deps.signal.aborted) throw error; // shutting down: handed back to the queue, the row stays `validating`
    if (isDatasetStoreError(error, 'cancelled')) {
      return finish('cancelled', { code: 'cancelled', message: 'The import was cancelled.' });
    }
    if (isDatasetStoreError(error)) return finish('failed', { code: error.code, message: error.message });
    if (deps.attempt < QUEUE_DEFAULTS.job.attempts) {
      // Storage or the database away: BullMQ retries with backoff; the row says why meanwhile.
      await db.datasetImport
        .update({
          where: { id: importId },
          data: { errorMessage: `Retrying after: ${(error as Error).message}`.slice(0, 1000) },
        })
        .catch(() => undefined);
      throw new JobError('handler_failed', (error as Error).message, { retryable: true, cause: error });
    }
    deps.log(`import ${importId} failed: ${(error as Error).stack ?? error}`);
    return finish('failed', { code: 'internal_error', message: OUR_SIDE });
  } finally {
    clearInterval(timer);
    deps.signal.removeEventListener('abort', onShutdown);
    await writing;
  }
}
