import { getPrisma } from '@crucible/db';
import { defaultHyperparameters, isLoraMethod, methodOf, stageOf } from '@crucible/jobs/fine-tuning';
import { cancelJob, createJob, findJob, type TJobRow } from '@crucible/services';
import { isServiceError } from '@crucible/services/errors';
import { z } from 'zod';
import { publish } from '../datasets/versions';
import { AppError } from '../errors';
import { apiKeyWorkspace as keyWorkspace } from '../gateway/auth';
import { openaiRoute as openai } from '../gateway/errors';
import { readBody } from '../http';
import { listJobRows } from './fine-tuning-core';

/**
 * OpenAI's fine-tuning API (POST/GET /v1/fine_tuning/jobs, GET /v1/fine_tuning/jobs/{id}, POST .../cancel,
 * GET .../events, GET .../checkpoints), authenticated by a workspace API key, so the official SDKs drive it.
 * Ids: `ftjob-<job id>`, files `file-<dataset version id>` (the Files API of routes/files.ts), models by base
 * model name; the fine-tuned model id is the FineTunedModel's name `ft:BASE:WORKSPACE:SUFFIX:ID`.
 * Errors use OpenAI's shape `{error: {message, type, param, code}}`.
 */

const jobIdOf = (id: string) => {
  if (!id.startsWith('ftjob-') || id.length < 7)
    throw new AppError('not_found', `No such fine-tuning job: ${id}`, 'id');
  return id.slice(6);
};
const versionIdOf = (id: string, param: string) => {
  if (!id.startsWith('file-') || id.length < 6)
    throw new AppError('invalid_request', `No such File object: ${id}`, param);
  return id.slice(5);
};
const secs = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);

const ZAutoOr = <T extends z.ZodType>(t: T) => z.union([z.literal('auto'), t]).optional();
const ZHp = z.object({
  n_epochs: ZAutoOr(z.number().int().min(1).max(50)),
  batch_size: ZAutoOr(z.number().int().min(1).max(256)),
  learning_rate_multiplier: ZAutoOr(z.number().positive().max(100)),
});
const ZDpoHp = ZHp.extend({ beta: ZAutoOr(z.number().positive().max(100)) });
/** OpenAI's `method` object: supervised (SFT) or dpo; reinforcement fine-tuning is not offered. */
const ZMethod = z.discriminatedUnion(
  'type',
  [
    z.object({
      type: z.literal('supervised'),
      supervised: z.object({ hyperparameters: ZHp.optional() }).optional(),
    }),
    z.object({ type: z.literal('dpo'), dpo: z.object({ hyperparameters: ZDpoHp.optional() }).optional() }),
  ],
  { error: 'method.type: "supervised" or "dpo" (reinforcement fine-tuning is not offered)' },
);
const ZCreate = z.object({
  model: z.string().min(1),
  training_file: z.string().min(1),
  validation_file: z.string().min(1).nullish(),
  hyperparameters: ZHp.optional(),
  method: ZMethod.optional(),
  suffix: z
    .string()
    .regex(/^[a-zA-Z0-9-_]{1,40}$/, 'suffix: 1-40 letters, digits, "-" or "_"')
    .nullish(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .nullish(),
  integrations: z.unknown().optional(),
  metadata: z.unknown().optional(),
});

/**
 * The job's `method` as OpenAI returns it: `{type: "supervised", supervised: {hyperparameters}}` or `{type: "dpo",
 * dpo: {hyperparameters: {beta, ...}}}`. A KTO job (made in the console; OpenAI has no KTO) says `{type: "kto",
 * kto: {...}}` in the same layout.
 */
function methodObject(method: string, hp: Record<string, unknown>, oaHp: Record<string, unknown>) {
  const stage = stageOf(method);
  if (stage === 'sft') return { type: 'supervised', supervised: { hyperparameters: oaHp } };
  const beta = typeof hp.prefBeta === 'number' ? hp.prefBeta : 'auto';
  return { type: stage, [stage]: { hyperparameters: { beta, ...oaHp } } };
}

function jobObject(j: TJobRow) {
  const hp = (j.hyperparameters ?? {}) as Record<string, unknown>;
  const base = defaultHyperparameters(isLoraMethod(j.method) ? 'sft_lora' : 'sft_full').learningRate;
  const oaHp = {
    n_epochs: typeof hp.epochs === 'number' ? hp.epochs : 'auto',
    batch_size: typeof hp.batchSize === 'number' ? hp.batchSize : 'auto',
    learning_rate_multiplier:
      typeof hp.learningRate === 'number' ? Number((hp.learningRate / base).toPrecision(6)) : 'auto',
  };
  return {
    object: 'fine_tuning.job',
    id: `ftjob-${j.id}`,
    // A job that continued a fine-tuned model names it, as OpenAI does.
    model: j.parentModel?.name ?? j.baseModel.name,
    created_at: secs(j.createdAt),
    finished_at: secs(j.finishedAt),
    fine_tuned_model: j.fineTunedModel?.name ?? null,
    organization_id: j.workspaceId,
    result_files: [],
    status: j.status,
    training_file: `file-${j.trainingFileId}`,
    validation_file: j.validationFileId ? `file-${j.validationFileId}` : null,
    hyperparameters: oaHp,
    method: methodObject(j.method, hp, oaHp),
    trained_tokens: j.trainedTokens === null || j.status !== 'succeeded' ? null : Number(j.trainedTokens),
    error: j.errorCode ? { code: j.errorCode, message: j.errorMessage ?? '', param: j.errorParam } : null,
    seed: j.seed ?? (typeof hp.seed === 'number' ? hp.seed : null),
    estimated_finish: j.status === 'running' ? secs(j.estimatedFinishAt) : null,
    user_provided_suffix: j.suffix,
    integrations: [],
    metadata: null,
  };
}

/** The request field of an operation's input name. */
function openaiParam(param: string): string {
  if (param === 'trainingVersionId') return 'training_file';
  if (param === 'validationVersionId') return 'validation_file';
  if (param === 'baseModelId' || param === 'fromModelId' || param === 'method') return 'model';
  if (param === 'hyperparameters.prefBeta') return 'method.dpo.hyperparameters.beta';
  return param;
}

/** A file of this workspace for training: OpenAI files are final once uploaded, so a clean draft is published. */
async function trainingVersion(workspaceId: string, fileId: string, param: string): Promise<string> {
  const prisma = getPrisma();
  const v = await prisma.datasetVersion.findFirst({
    where: { id: versionIdOf(fileId, param), workspaceId, dataset: { deletedAt: null } },
  });
  if (!v) throw new AppError('invalid_request', `No such File object: ${fileId}`, param);
  if (v.status !== 'published') {
    try {
      await publish(v);
    } catch (e) {
      throw new AppError(
        'invalid_request',
        `File ${fileId} cannot be used for training: ${(e as Error).message}`,
        param,
      );
    }
  }
  return v.id;
}

export const createFineTuningJob = openai(async (req) => {
  const workspaceId = await keyWorkspace(req);
  const body = await readBody(req, ZCreate);
  const prisma = getPrisma();
  const base = await prisma.baseModel.findFirst({
    where: { name: body.model, OR: [{ workspaceId }, { workspaceId: null }] },
    orderBy: { workspaceId: { sort: 'asc', nulls: 'last' } },
  });
  // A fine-tuned model continues (OpenAI fine-tunes a fine-tuned model the same way): its adapter or weights go on.
  const parent = base
    ? null
    : await prisma.fineTunedModel.findFirst({ where: { name: body.model, workspaceId, deletedAt: null } });
  if (!base && !parent)
    throw new AppError('invalid_request', `Model ${body.model} does not exist or is not available to you.`, 'model');
  const given =
    body.method?.type === 'dpo' ? body.method.dpo?.hyperparameters : body.method?.supervised?.hyperparameters;
  const hp = { ...body.hyperparameters, ...given };
  const method = methodOf(body.method?.type === 'dpo' ? 'dpo' : 'sft', parent ? isLoraMethod(parent.method) : true);
  const lr = defaultHyperparameters(method).learningRate;
  const beta = given && 'beta' in given ? given.beta : undefined;
  const trainingVersionId = await trainingVersion(workspaceId, body.training_file, 'training_file');
  const validationVersionId = body.validation_file
    ? await trainingVersion(workspaceId, body.validation_file, 'validation_file')
    : undefined;
  const row = await createJob(
    workspaceId,
    {
      ...(base ? { baseModelId: base.id } : { fromModelId: parent?.id }),
      trainingVersionId,
      validationVersionId,
      method,
      suffix: body.suffix ?? undefined,
      // Only what the caller gave: nothing given leaves the platform's choice (a model's preset, "auto" epochs).
      hyperparameters: {
        ...(typeof hp.n_epochs === 'number' ? { epochs: hp.n_epochs } : {}),
        ...(typeof hp.batch_size === 'number' ? { batchSize: hp.batch_size, gradientAccumulationSteps: 1 } : {}),
        ...(typeof hp.learning_rate_multiplier === 'number' ? { learningRate: lr * hp.learning_rate_multiplier } : {}),
        ...(typeof body.seed === 'number' ? { seed: body.seed } : {}),
        ...(typeof beta === 'number' ? { prefBeta: beta } : {}),
      },
    },
    { userId: null, via: 'api' },
  ).catch((e) => {
    // The operation names its inputs (trainingVersionId, ...); an OpenAI client knows the request's names.
    if (isServiceError(e) && e.code === 'invalid_request' && e.param)
      throw new AppError('invalid_request', e.message, openaiParam(e.param));
    throw e;
  });
  return Response.json(jobObject(row));
});

export const listFineTuningJobs = openai(async (req) => {
  const workspaceId = await keyWorkspace(req);
  const url = new URL(req.url);
  const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
  const after = url.searchParams.get('after');
  const rows = await listJobRows(workspaceId, limit + 1, after ? jobIdOf(after) : undefined);
  return Response.json({ object: 'list', data: rows.slice(0, limit).map(jobObject), has_more: rows.length > limit });
});

export const retrieveFineTuningJob = openai(async (req, { jobId }) => {
  const workspaceId = await keyWorkspace(req);
  return Response.json(jobObject(await findJob(workspaceId, jobIdOf(jobId))));
});

export const cancelFineTuningJob = openai(async (req, { jobId }) => {
  const workspaceId = await keyWorkspace(req);
  return Response.json(jobObject(await cancelJob(workspaceId, jobIdOf(jobId), { via: 'api' })));
});

/** Events newest first, as OpenAI lists them; `after` is an event id. */
export const listFineTuningEvents = openai(async (req, { jobId }) => {
  const workspaceId = await keyWorkspace(req);
  const job = await findJob(workspaceId, jobIdOf(jobId));
  const url = new URL(req.url);
  const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
  const after = url.searchParams.get('after');
  const rows = await getPrisma().jobEvent.findMany({
    where: { workspaceId, jobId: job.id },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
    ...(after ? { cursor: { id: after.replace(/^ftevent-/, '') }, skip: 1 } : {}),
  });
  return Response.json({
    object: 'list',
    data: rows.slice(0, limit).map((e) => ({
      object: 'fine_tuning.job.event',
      id: `ftevent-${e.id}`,
      created_at: secs(e.createdAt),
      level: e.level,
      message: e.message,
      data: e.data ?? {},
      type: e.type === 'metrics' ? 'metrics' : 'message',
    })),
    has_more: rows.length > limit,
  });
});

export const listFineTuningCheckpoints = openai(async (req, { jobId }) => {
  const workspaceId = await keyWorkspace(req);
  const job = await findJob(workspaceId, jobIdOf(jobId));
  const rows = await getPrisma().checkpoint.findMany({
    // A checkpoint pruned by save_total_limit has no files left: not listed.
    where: { workspaceId, jobId: job.id, prunedAt: null },
    orderBy: { step: 'desc' },
  });
  const name = job.fineTunedModel?.name ?? `ft:${job.baseModel.name}:${job.id}`;
  const data = rows.map((c) => {
    const m = (c.metrics ?? {}) as { loss?: number | null; evalLoss?: number | null };
    return {
      object: 'fine_tuning.job.checkpoint',
      id: `ftckpt-${c.id}`,
      created_at: secs(c.createdAt),
      fine_tuned_model_checkpoint: `${name}:ckpt-step-${c.step}`,
      fine_tuning_job_id: `ftjob-${job.id}`,
      step_number: c.step,
      metrics: { step: c.step, train_loss: m.loss ?? null, valid_loss: m.evalLoss ?? null },
    };
  });
  return Response.json({
    object: 'list',
    data,
    has_more: false,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  });
});
