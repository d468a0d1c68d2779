import { getPrisma } from '@crucible/db';
import { JobError, type TDatasetImportJobPayload, type TJobContext } from '@crucible/jobs';
import { housekeepingContext } from '../context';
import { runDatasetImport } from '../dataset-import';

/**
 * `dataset.import`: validates an uploaded file into a new dataset version (src/dataset-import.ts). A cancelled import
 * completes; a failed one (the file, or our side after the last attempt) fails at once with the row's code, so the
 * queue shows what the row says.
 */
export default async function runDatasetImportJob(payload: TDatasetImportJobPayload, ctx: TJobContext) {
  const outcome = await runDatasetImport(payload.importId, {
    storage: housekeepingContext().storage,
    workerId: ctx.workerId,
    attempt: ctx.attempt,
    signal: ctx.signal,
    log: ctx.log,
  });
  if (outcome.status === 'failed') {
    const row = await getPrisma().datasetImport.findUnique({ where: { id: payload.importId } });
    throw new JobError('handler_failed', `${row?.errorCode ?? 'failed'}: ${row?.errorMessage ?? 'import failed'}`);
  }
  ctx.log(`import ${payload.importId} ${outcome.status}`);
  return outcome;
}
