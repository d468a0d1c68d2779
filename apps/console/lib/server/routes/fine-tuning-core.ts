import { getPrisma } from '@crucible/db';
import { JOB_INCLUDE, type TJobRow } from '@crucible/services';

/**
 * The job object of the console's REST API and the job list query. Creating, estimating and cancelling a job are
 * operations of @crucible/services (planJob, createJob, cancelJob), shared with OpenAI's /v1/fine_tuning API and the
 * CLI; every query carries workspaceId.
 */

export async function listJobRows(workspaceId: string, take: number, afterId?: string): Promise<TJobRow[]> {
  return getPrisma().trainingJob.findMany({
    where: { workspaceId },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
    ...(afterId ? { cursor: { id: afterId }, skip: 1 } : {}),
    include: JOB_INCLUDE,
  });
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The REST job object (the console's pages read exactly these fields). */
export function jobJson(j: TJobRow) {
  const totalSteps = j.totalSteps ?? null;
  const percentage = totalSteps ? Math.round((j.currentStep / totalSteps) * 1000) / 10 : 0;
  const hp = (j.hyperparameters ?? {}) as Record<string, unknown>;
  const epochs = typeof hp.epochs === 'number' ? hp.epochs : null;
  const running = j.status === 'running';
  return {
    id: j.id,
    status: j.status,
    method: j.method,
    baseModel: { id: j.baseModel.id, name: j.baseModel.name },
    datasetVersion: {
      id: j.trainingFile.id,
      datasetId: j.trainingFile.datasetId,
      datasetName: j.trainingFile.dataset.name,
      number: j.trainingFile.number,
    },
    validationVersion: j.validationFile
      ? { id: j.validationFile.id, datasetId: j.validationFile.datasetId, number: j.validationFile.number }
      : null,
    /** The rows a valSplit held out of the training version (stored when the run started), or null. */
    heldOut: j.heldOutRowCount !== null ? { rows: j.heldOutRowCount } : null,
    hyperparameters: hp,
    suffix: j.suffix,
    progress: {
      step: j.currentStep,
      totalSteps,
      epoch: totalSteps && epochs ? Math.round((j.currentStep / totalSteps) * epochs * 100) / 100 : 0,
      percentage,
      etaSeconds:
        running && j.estimatedFinishAt
          ? Math.max(0, Math.round((j.estimatedFinishAt.getTime() - Date.now()) / 1000))
          : null,
    },
    trainedTokens: j.trainedTokens === null ? null : Number(j.trainedTokens),
    error: j.errorCode ? { code: j.errorCode, message: j.errorMessage ?? '', param: j.errorParam } : null,
    createdBy: j.createdBy ? { id: j.createdBy.id, name: j.createdBy.name, email: j.createdBy.email } : null,
    createdAt: j.createdAt.toISOString(),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    workerId: j.workerId,
    attempt: j.attempt,
    cancelRequested: j.cancelRequestedAt !== null,
    fineTunedModel: j.fineTunedModel ? { id: j.fineTunedModel.id, name: j.fineTunedModel.name } : null,
    /** The fine-tuned model this job continued (SFT -> DPO), or null. */
    fromModel: j.parentModel ? { id: j.parentModel.id, name: j.parentModel.name } : null,
    cost: j.estimatedCost
      ? { amount: j.estimatedCost.toString(), currency: j.estimatedCurrency ?? 'USD', estimated: true }
      : null,
  };
}
