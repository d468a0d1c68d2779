import { getPrisma } from '@crucible/db';
import { JobError, type TJobContext, type TModelDownloadJobPayload } from '@crucible/jobs';
import { housekeepingContext } from '../context';
import { runModelDownload } from '../model-download';

/**
 * `model.download`: adds a workspace's base model from a hub, the shared folder or an uploaded archive
 * (src/model-download.ts). A failed download fails the job at once with the row's code, so the queue shows what
 * the row says; a network failure mid-file is retried by the queue and resumes.
 */
export default async function runModelDownloadJob(payload: TModelDownloadJobPayload, ctx: TJobContext) {
  const { storage, cacheDir, modelsSharedDir, hubEndpoints, hubRetry } = housekeepingContext();
  const outcome = await runModelDownload(payload.downloadId, {
    storage,
    cacheDir,
    workerId: ctx.workerId,
    attempt: ctx.attempt,
    signal: ctx.signal,
    log: ctx.log,
    sharedDir: modelsSharedDir,
    endpoints: hubEndpoints,
    retry: hubRetry,
  });
  if (outcome.status === 'failed') {
    const row = await getPrisma().baseModelDownload.findUnique({ where: { id: payload.downloadId } });
    throw new JobError('handler_failed', `${row?.errorCode ?? 'failed'}: ${row?.errorMessage ?? 'download failed'}`);
  }
  ctx.log(`download ${payload.downloadId} ${outcome.status}`);
  return outcome;
}
