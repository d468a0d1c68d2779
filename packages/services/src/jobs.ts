import { estimateTrainingCost } from '@crucible/billing';
import { getPrisma, type Prisma } from '@crucible/db';
import {
  DEMO_PRESET,
  datasetKindOf,
  enqueue,
  epochsFor,
  getRedisConnection,
  isLoraMethod,
  jobChannel,
  jobControlChannel,
  loadJobsEnv,
  methodOf,
  noHyperparametersGiven,
  resolveHyperparameters,
  STAGE_DATASET_KIND,
  stageKeyProblem,
  stageOf,
  type TDatasetKind,
  type TFineTuningMethod,
  trainingRunJob,
} from '@crucible/jobs';
import { jobEvent } from '@crucible/jobs/events';
import { fromBillingError, requireWithinBudget } from './budget';
import { TRAINER_WORKER_CLASS } from './catalog';
import { ServiceError } from './errors';
import type { TCreateFineTuningJob } from './job-input';
import { trainTokensPerEpoch } from './training-tokens';

/**
 * Fine-tuning jobs: the estimate (`planJob`), creation + enqueue (`createJob`) and cancel (`cancelJob`). The console's
 * REST routes, OpenAI's /v1/fine_tuning API and `crucible jobs create|cancel` all call these, so every rule (budget,
 * base model ready, published versions of datasets not deleted, the demo preset, a failed enqueue marks the row
 * failed) holds whoever asks. Every query carries workspaceId.
 */

/** Where an operation was asked from: the job's events say so (`job_created` / `job_created_cli`, ...). */
export type TCaller = { userId?: string | null; via?: 'api' | 'cli' };

export const JOB_INCLUDE = {
  baseModel: { select: { id: true, name: true } },
  trainingFile: { select: { id: true, datasetId: true, number: true, dataset: { select: { name: true } } } },
  validationFile: { select: { id: true, datasetId: true, number: true } },
  createdBy: { select: { id: true, name: true, email: true } },
  fineTunedModel: { select: { id: true, name: true } },
  parentModel: { select: { id: true, name: true } },
} satisfies Prisma.TrainingJobInclude;

export type TJobRow = Prisma.TrainingJobGetPayload<{ include: typeof JOB_INCLUDE }>;

/** Statuses of a job that has not finished (the ones cancel acts on). */
export const OPEN_JOB_STATUSES = ['validating_files', 'queued', 'running'] as const;

/** Default throughput (tokens/s) when no job of this base model has run yet: ~200 GFLOPS at 6 FLOP per param. */
function fallbackThroughput(params: bigint | null): number {
  const p = params ? Number(params) : 5e8;
  return Math.max(1, 200e9 / (6 * p));
}

type TPastRun = { tokensPerSecond: number; overheadSeconds: number };

/**
 * What recent finished jobs on this base model measured, on the worker class we have: the trainer's own tokens/s
 * (its last metric) and the rest of the job's wall time (loading, tokenising, checkpoints, export) as a fixed
 * overhead. An instance-wide model (the demo) learns from every workspace's runs; a workspace's own model from its own.
 */
async function pastRuns(workspaceId: string, base: { id: string; workspaceId: string | null }): Promise<TPastRun[]> {
  const prisma = getPrisma();
  const jobs = await prisma.trainingJob.findMany({
    where: {
      baseModelId: base.id,
      status: 'succeeded',
      ...(base.workspaceId ? { workspaceId } : {}),
      startedAt: { not: null },
      finishedAt: { not: null },
      trainedTokens: { not: null },
    },
    orderBy: { finishedAt: 'desc' },
    take: 5,
    select: { id: true, startedAt: true, finishedAt: true, trainedTokens: true },
  });
  const runs: TPastRun[] = [];
  for (const j of jobs) {
    const m = await prisma.trainingMetric.findFirst({
      where: { jobId: j.id, tokensPerSecond: { not: null } },
      orderBy: { step: 'desc' },
    });
    if (!m?.tokensPerSecond || !j.startedAt || !j.finishedAt) continue;
    const wall = (j.finishedAt.getTime() - j.startedAt.getTime()) / 1000;
    const training = Number(j.trainedTokens) / m.tokensPerSecond;
    runs.push({ tokensPerSecond: m.tokensPerSecond, overheadSeconds: Math.max(0, wall - training) });
  }
  return runs;
}

/**
 * Seconds a job of `tokens` trained tokens takes: from each past run's throughput and overhead (the range spans
 * them), else from a rough FLOP rate with a range of half to twice the point.
 */
export function timeEstimate(tokens: number, runs: TPastRun[], params: bigint | null) {
  if (runs.length === 0) {
    const tps = fallbackThroughput(params);
    const s = tokens / tps;
    return {
      seconds: Math.ceil(s),
      low: Math.ceil(s / 2),
      high: Math.ceil(s * 2),
      tokensPerSecond: tps,
      measured: false,
    };
  }
  const each = runs.map((r) => r.overheadSeconds + tokens / r.tokensPerSecond);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    seconds: Math.ceil(mean(each)),
    low: Math.ceil(Math.min(...each)),
    high: Math.ceil(Math.max(...each)),
    tokensPerSecond: mean(runs.map((r) => r.tokensPerSecond)),
    measured: true,
  };
}

/**
 * Checks every id of a create request against the workspace (a base model of the workspace or the instance, and
 * `ready`; published versions of datasets that are not deleted) and computes the estimate.
 */
const KIND_WORDS: Record<TDatasetKind, string> = {
  chat: 'chat (SFT) rows',
  preference: 'preference pairs (chosen/rejected)',
  kto: 'KTO rows (messages with a true/false label)',
  text: 'raw text',
};

/**
 * The fine-tuned model a job continues (fromModelId): of this workspace, not deleted, with its files stored. A LoRA
 * model's adapter continues with a LoRA method; a full fine-tune's weights with a full method.
 */
async function parentModel(workspaceId: string, id: string, method: TFineTuningMethod) {
  const m = await getPrisma().fineTunedModel.findFirst({ where: { id, workspaceId, deletedAt: null } });
  if (!m) throw new ServiceError('invalid_request', `No fine-tuned model ${id} in this workspace.`, 'fromModelId');
  const lora = isLoraMethod(m.method);
  if (lora ? !m.adapterObjectKey : !m.mergedObjectKey) {
    throw new ServiceError(
      'invalid_request',
      `The files of ${m.name} are not stored; it cannot be continued.`,
      'fromModelId',
    );
  }
  if (lora !== isLoraMethod(method)) {
    const want = methodOf(stageOf(method), lora);
    throw new ServiceError(
      'invalid_request',
      lora
        ? `${m.name} is a LoRA model: its adapter continues with a LoRA method (${want}), not ${method}.`
        : `${m.name} is a full fine-tune: its weights continue with full fine-tuning (${want}), not ${method}.`,
      'method',
    );
  }
  return m;
}

export async function planJob(
  workspaceId: string,
  input: TCreateFineTuningJob,
  /** How long to wait for the exact token count before using the dataset's statistics (it goes on, cached). */
  opts: { countWaitMs?: number } = {},
) {
  const prisma = getPrisma();
  const parent = input.fromModelId ? await parentModel(workspaceId, input.fromModelId, input.method) : null;
  if (parent && input.baseModelId && input.baseModelId !== parent.baseModelId) {
    throw new ServiceError(
      'invalid_request',
      `${parent.name} was fine-tuned from another base model; leave baseModelId out or give its own.`,
      'baseModelId',
    );
  }
  const baseModelId = parent?.baseModelId ?? input.baseModelId;
  if (!baseModelId) throw new ServiceError('invalid_request', 'Choose a base model.', 'baseModelId');
  const base = await prisma.baseModel.findFirst({
    where: { id: baseModelId, OR: [{ workspaceId }, { workspaceId: null }] },
  });
  if (!base)
    throw new ServiceError('invalid_request', `No base model ${baseModelId} in this workspace.`, 'baseModelId');
  if (base.status !== 'ready') {
    throw new ServiceError('invalid_request', `Base model ${base.name} is ${base.status}, not ready.`, 'baseModelId');
  }
  // The demo model learns only with its preset (full fine-tuning at a high rate): a job that gives no
  // hyper-parameters gets it, whatever asked (the console's form, the OpenAI API, the CLI), in the method's stage.
  if (base.demo && !parent && noHyperparametersGiven(input.hyperparameters)) {
    const method = methodOf(stageOf(input.method), isLoraMethod(DEMO_PRESET.method));
    input = { ...input, method, hyperparameters: { ...DEMO_PRESET.hyperparameters } };
  }
  const keyProblem = stageKeyProblem(input.method, input.hyperparameters);
  if (keyProblem) {
    throw new ServiceError('invalid_request', keyProblem.message, `hyperparameters.${keyProblem.key}`);
  }
  const stage = stageOf(input.method);
  const version = async (id: string, param: string) => {
    const v = await prisma.datasetVersion.findFirst({
      where: { id, workspaceId, dataset: { deletedAt: null } },
      include: { dataset: { select: { name: true } } },
    });
    if (!v) throw new ServiceError('invalid_request', `No dataset version ${id} in this workspace.`, param);
    if (v.status !== 'published') {
      throw new ServiceError(
        'invalid_request',
        `Version ${v.number} of dataset "${v.dataset.name}" is a draft: publish it before training on it.`,
        param,
      );
    }
    // Each stage trains on its own kind of rows (sft: chat; dpo: preference pairs; kto: labelled rows).
    const kind = datasetKindOf(v);
    const wanted = STAGE_DATASET_KIND[stage];
    if (kind !== wanted && !(stage === 'sft' && kind === 'text')) {
      throw new ServiceError(
        'invalid_request',
        `Version ${v.number} of dataset "${v.dataset.name}" holds ${KIND_WORDS[kind]}; a ${stage} job (method ${input.method}) trains on ${KIND_WORDS[wanted]}: choose a version of that kind or another method.`,
        param,
      );
    }
    return v;
  };
  const training = await version(input.trainingVersionId, 'trainingVersionId');
  const validation = input.validationVersionId ? await version(input.validationVersionId, 'validationVersionId') : null;

  const hp = resolveHyperparameters(input.method, { ...input.hyperparameters, valSplit: input.valSplit ?? 0 });
  const epochs = epochsFor(hp, training.rowCount);
  // Tokens as the run counts them (the model's template, system prompt, cutoff and split); the dataset's import
  // statistics (a fixed tokenizer on the bare text) only when the model's files cannot be read.
  let datasetTokens: number;
  let tokensExact = true;
  try {
    const counting = trainTokensPerEpoch(base, training, validation, input.method, hp, epochs);
    const counted =
      opts.countWaitMs === undefined
        ? await counting
        : await Promise.race([
            counting,
            new Promise<never>((_, reject) => {
              setTimeout(() => reject(new Error('still counting')), opts.countWaitMs).unref();
            }),
          ]);
    datasetTokens = counted.tokensPerEpoch;
  } catch {
    tokensExact = false;
    const stats = Number(training.tokenCount ?? (training.sizeBytes ? training.sizeBytes / 4n : 0n));
    datasetTokens = Math.round(stats * (1 - hp.valSplit));
  }
  const trainedTokens = datasetTokens * epochs;
  const time = timeEstimate(trainedTokens, await pastRuns(workspaceId, base), base.parameterCount);
  // The price the trainer will charge (packages/billing: model- and method-specific items, refused when none applies).
  const price = await estimateTrainingCost({
    workspaceId,
    baseModel: base.name,
    method: input.method,
    tokens: datasetTokens,
    epochs,
  }).catch((e) => {
    throw fromBillingError(e);
  });
  return {
    base,
    parent,
    training,
    validation,
    /** The method and hyper-parameters the job runs with (the demo preset may have replaced the request's). */
    method: input.method,
    requestedEpochs: input.hyperparameters.epochs ?? 'auto',
    hyperparameters: { ...hp, epochs },
    estimate: {
      trainedTokens,
      /** Tokens of one epoch (after the validation split). */
      datasetTokens,
      tokensExact,
      epochs,
      estimatedSeconds: time.seconds,
      estimatedSecondsRange: { low: time.low, high: time.high },
      cost: { amount: price.amount.toDecimalPlaces(6).toString(), currency: price.currency },
      throughputTokensPerSec: Math.round(time.tokensPerSecond * 10) / 10,
      throughputMeasured: time.measured,
      workerClass: TRAINER_WORKER_CLASS,
    },
  };
}

/**
 * Creates a job and puts it on the `training` queue: refused over a hard budget limit (before anything else is
 * looked at), then checked and estimated by planJob. The row is the job's truth: when Redis does not take the
 * job, the row is marked failed (`queue_unavailable`) and the caller gets `unavailable`.
 */
export async function createJob(workspaceId: string, input: TCreateFineTuningJob, by: TCaller = {}): Promise<TJobRow> {
  await requireWithinBudget(workspaceId);
  // Starting a job never waits long for the exact count: the form's estimate has usually made it already (cached);
  // otherwise the stored estimate uses the dataset's statistics.
  const plan = await planJob(workspaceId, input, { countWaitMs: 3_000 });
  const prisma = getPrisma();
  const row = await prisma.trainingJob.create({
    data: {
      workspaceId,
      baseModelId: plan.base.id,
      parentModelId: plan.parent?.id ?? null,
      trainingFileId: plan.training.id,
      validationFileId: plan.validation?.id ?? null,
      method: plan.method,
      hyperparameters: { ...plan.hyperparameters, requestedEpochs: plan.requestedEpochs },
      status: 'validating_files',
      suffix: input.suffix ?? null,
      seed: plan.hyperparameters.seed,
      estimatedCost: plan.estimate.cost.amount,
      estimatedCurrency: plan.estimate.cost.currency,
      createdById: by.userId ?? null,
    },
  });
  const created = by.via === 'cli' ? jobEvent('job_created_cli') : jobEvent('job_created');
  await prisma.jobEvent.create({ data: { workspaceId, jobId: row.id, ...created } });
  try {
    const { id } = await enqueue(trainingRunJob, { jobId: row.id });
    await prisma.trainingJob.update({ where: { id: row.id }, data: { queueJobId: id } });
  } catch (error) {
    await prisma.trainingJob.update({
      where: { id: row.id },
      data: {
        status: 'failed',
        errorCode: 'queue_unavailable',
        errorMessage: 'The job queue (Redis) did not take the job; try again in a minute.',
        finishedAt: new Date(),
      },
    });
    throw new ServiceError('unavailable', `The job queue did not take the job: ${(error as Error).message}`);
  }
  return prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id }, include: JOB_INCLUDE });
}

export async function findJob(workspaceId: string, jobId: string): Promise<TJobRow> {
  const row = await getPrisma().trainingJob.findFirst({ where: { id: jobId, workspaceId }, include: JOB_INCLUDE });
  if (!row) throw new ServiceError('not_found', `No such fine-tuning job: ${jobId}`, 'id');
  return row;
}

async function publish(channel: string, message: unknown) {
  await getRedisConnection()
    .publish(channel, JSON.stringify(message))
    .catch(() => 0);
}

/**
 * Cancel: a job no worker has started ends at once; a running one gets the flag (the worker polls it) and a Redis
 * message (its child stops within one optimizer step). A finished job is left as it is (`conflict`).
 */
export async function cancelJob(workspaceId: string, jobId: string, by: TCaller = {}): Promise<TJobRow> {
  const prisma = getPrisma();
  const job = await findJob(workspaceId, jobId);
  if (!(OPEN_JOB_STATUSES as readonly string[]).includes(job.status)) {
    throw new ServiceError(
      'conflict',
      `The job is already ${job.status}; only a job that has not finished can be cancelled.`,
    );
  }
  const now = new Date();
  const prefix = loadJobsEnv().REDIS_PREFIX;
  const notStarted = await prisma.trainingJob.updateMany({
    where: { id: job.id, workspaceId, status: { in: ['validating_files', 'queued'] }, workerId: null },
    data: { status: 'cancelled', cancelRequestedAt: now, finishedAt: now },
  });
  if (notStarted.count === 0) {
    await prisma.trainingJob.updateMany({
      where: { id: job.id, workspaceId, cancelRequestedAt: null },
      data: { cancelRequestedAt: now },
    });
    await publish(jobControlChannel(prefix, job.id), { type: 'cancel' });
  } else {
    await publish(jobChannel(prefix, job.id), { type: 'status', data: { id: job.id, status: 'cancelled' } });
  }
  const requested = by.via === 'cli' ? jobEvent('cancel_requested_cli') : jobEvent('cancel_requested');
  await prisma.jobEvent.create({ data: { workspaceId, jobId: job.id, ...requested } });
  return findJob(workspaceId, job.id);
}
