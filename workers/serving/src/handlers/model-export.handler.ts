import { getPrisma } from '@crucible/db';
import { JobError, QUEUE_DEFAULTS, type TJobContext, type TModelExportJobPayload } from '@crucible/jobs';
import { ExportError, runModelExport } from '../exports';
import { getServingHost } from '../host';

/**
 * `model.export`: builds a ModelExport (merged safetensors or a GGUF) with the model files this worker already
 * caches for serving. Bad requests (a model that cannot be exported so) fail at once; anything else (storage
 * unreachable, disk full) is retried with the queue's backoff, the row saying "queued" and why in between.
 */
export default async function runModelExportJob(payload: TModelExportJobPayload, ctx: TJobContext) {
  const host = getServingHost();
  if (!host)
    throw new JobError('handler_failed', 'no_host: this process has no model cache (started without its host).');
  try {
    const done = await runModelExport(payload.exportId, {
      storage: host.engine.storage,
      cacheDir: host.engine.cacheDir,
      workerId: ctx.workerId,
      log: ctx.log,
    });
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
