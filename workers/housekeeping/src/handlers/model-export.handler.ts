import { getPrisma } from '@crucible/db';
import { JobError, QUEUE_DEFAULTS, type TJobContext, type TModelExportJobPayload } from '@crucible/jobs';
import { housekeepingContext } from '../context';
import { ExportError, runModelExport } from '../exports';

/**
 * `model.export`: builds a ModelExport (merged safetensors or a GGUF), downloading the models it needs into this
 * worker's cache folder. Bad requests (a model that cannot be exported so) fail at once; anything else (storage
 * unreachable, disk full) is retried with the queue's backoff, the row saying "queued" and why in between.
 */
export default async function runModelExportJob(payload: TModelExportJobPayload, ctx: TJobContext) {
  const { storage, cacheDir } = housekeepingContext();
  try {
    const done = await runModelExport(payload.exportId, { storage, cacheDir, workerId: ctx.workerId, log: ctx.log });
    ctx.log(`export ${payload.exportId} stored at ${done.objectKey} (${done.size} bytes)`);
    return { objectKey: done.objectKey, sizeBytes: Number(done.size) };
  } catch (error) {
    if (error instanceof ExportError) throw new JobError('handler_failed', `${error.code}: ${error.message}`);
    if (ctx.attempt < QUEUE_DEFAULTS.job.attempts) {
      await getPrisma()
        .modelExport.update({
          where: { id: payload.exportId },
          data: { status: 'queued', errorMessage: `Retrying after: ${(error as Error).message}`.slice(0, 1000) },
        })
        .catch(() => {});
    }
    throw new JobError('handler_failed', (error as Error).message, { retryable: true });
  }
}
