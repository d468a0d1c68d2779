import { assertInferenceChargeable } from '@crucible/billing';
import { collectRows, openRows } from '@crucible/dataset-store';
import { getPrisma, type Prisma } from '@crucible/db';
import {
  enqueue,
  evaluationRunJob,
  getQueue,
  loadJobsEnv,
  QUEUE_NAMES,
  type TEvaluationCriterion,
  ZEvaluationCriteria,
  ZEvaluationSettings,
} from '@crucible/jobs';
import { z } from 'zod';
import { fromBillingError, requireWithinBudget } from './budget';
import { parseInput, ServiceError } from './errors';
import type { TCaller } from './jobs';

/**
 * Evaluations (issue 16): create (rows copied from a dataset version or a training job's validation file, models —
 * base, fine-tuned, checkpoints of a job — and judges checked, a row + `evaluation.run` on the `evaluations` queue, which the serving workers take), cancel, find.
 * The console's REST routes and OpenAI's /v1/evals call these. Every query carries workspaceId.
 */

/** Rows one evaluation may hold: every model answers every row on a serving worker, one after another. */
export const EVALUATION_MAX_ROWS = 2_000;
const MAX_MODELS = 8;

/**
 * A model to evaluate: a base model, a fine-tuned model, or a checkpoint of a training job (`id` is the job's id,
 * `step` the checkpoint's step), served like the job's fine-tune from the adapter or weights stored with it.
 */
const ZModelRef = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['base', 'fine_tuned']), id: z.string().min(1) }),
  z.strictObject({ kind: z.literal('checkpoint'), id: z.string().min(1), step: z.number().int().min(1) }),
]);
const refKey = (m: z.output<typeof ZModelRef>) => `${m.kind}:${m.id}${m.kind === 'checkpoint' ? `:${m.step}` : ''}`;

export const ZCreateEvaluation = z.strictObject({
  name: z.string().trim().min(1).max(120),
  models: z
    .array(ZModelRef)
    .min(1, 'choose at least one model')
    .max(MAX_MODELS, `at most ${MAX_MODELS} models`)
    .refine((m) => new Set(m.map(refKey)).size === m.length, 'each model only once'),
  /** Where the rows come from; OpenAI's Evals API passes rows of its own instead (createEvaluation's `extra`). */
  source: z
    .union([
      z.strictObject({ datasetVersionId: z.string().min(1) }),
      z.strictObject({ trainingJobId: z.string().min(1) }),
    ])
    .optional(),
  settings: ZEvaluationSettings.default({ maxNewTokens: 256, temperature: 0, topP: 1 }),
  criteria: ZEvaluationCriteria,
});
export type TCreateEvaluation = z.input<typeof ZCreateEvaluation>;

/** One row as the worker runs it: the prompt, the label, and the item the Evals API's templates see. */
export type TEvaluationRowInput = {
  messages: { role: string; content: string }[];
  label: string;
  item: Record<string, unknown>;
};

export const OPEN_EVALUATION_STATUSES = ['queued', 'running'] as const;

export const EVALUATION_INCLUDE = {
  models: { orderBy: { index: 'asc' } },
} satisfies Prisma.EvaluationInclude;
export type TEvaluationRow = Prisma.EvaluationGetPayload<{ include: typeof EVALUATION_INCLUDE }>;

/**
 * A chat row as LLaMA-Factory's predict splits it: the last turn is the label (an assistant answer), everything before
 * it the prompt. `item` is what the Evals API's templates reach: `{{item.input}}` (the prompt messages) and
 * `{{item.reference}}` (the label). Null when the row cannot be evaluated.
 */
export function splitChatRow(row: unknown): TEvaluationRowInput | null {
  const messages = (row as { messages?: unknown }).messages;
  if (!Array.isArray(messages) || messages.length < 2) return null;
  const last = messages.at(-1) as { role?: unknown; content?: unknown };
  if (last.role !== 'assistant' || typeof last.content !== 'string') return null;
  const prompt: { role: string; content: string }[] = [];
  for (const m of messages.slice(0, -1) as { role?: unknown; content?: unknown }[]) {
    if (typeof m.role !== 'string' || typeof m.content !== 'string' || m.role === 'tool') return null;
    prompt.push({ role: m.role, content: m.content });
  }
  if (!prompt.some((m) => m.role === 'user')) return null;
  return { messages: prompt, label: last.content, item: { input: prompt, reference: last.content } };
}

/** Canonical rows split for evaluation; a row that cannot be is an error naming it (`what`: "dataset version 3"). */
async function evaluationRows(
  rows: NonNullable<Awaited<ReturnType<typeof openRows>>>,
  what: string,
  param: string,
): Promise<TEvaluationRowInput[]> {
  const out: TEvaluationRowInput[] = [];
  for (const [i, row] of (await collectRows(rows)).entries()) {
    const split = splitChatRow(row);
    if (!split) {
      throw new ServiceError(
        'invalid_request',
        `Row ${i + 1} of ${what} does not end with an assistant answer after a user turn (text only); an evaluation compares each answer with it.`,
        param,
      );
    }
    out.push(split);
  }
  if (!out.length) throw new ServiceError('invalid_request', `${capitalise(what)} has no rows.`, param);
  return out;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const tooManyRows = (what: string, rows: number) =>
  `${capitalise(what)} has ${rows} rows; an evaluation takes at most ${EVALUATION_MAX_ROWS}. Make a smaller version to evaluate on.`;

/** The rows of a dataset version of this workspace, split for evaluation; a row that cannot be is an error naming it. */
export async function versionRows(
  workspaceId: string,
  versionId: string,
  param: string,
): Promise<TEvaluationRowInput[]> {
  const v = await getPrisma().datasetVersion.findFirst({
    where: { id: versionId, workspaceId, dataset: { deletedAt: null } },
  });
  if (!v) throw new ServiceError('not_found', 'No such dataset version.', param);
  if (v.format !== 'chatml') {
    throw new ServiceError(
      'invalid_request',
      `Dataset version ${v.number} holds ${v.format} rows; an evaluation needs chat rows (messages ending with the assistant's answer).`,
      param,
    );
  }
  const what = `dataset version ${v.number}`;
  if (v.rowCount > EVALUATION_MAX_ROWS) throw new ServiceError('invalid_request', tooManyRows(what, v.rowCount), param);
  const stream = await openRows(v.objectKey, workspaceId);
  if (!stream) throw new ServiceError('conflict', `The stored rows of dataset version ${v.number} are missing.`, param);
  return evaluationRows(stream, what, param);
}

/** Where the rows come from: a dataset version, or the validation file (held-out rows) of a training job. */
async function sourceRows(workspaceId: string, source: z.output<typeof ZCreateEvaluation>['source']) {
  if (!source) throw new ServiceError('invalid_request', 'Choose the dataset version to evaluate on.', 'source');
  if ('datasetVersionId' in source) {
    const rows = await versionRows(workspaceId, source.datasetVersionId, 'source.datasetVersionId');
    return { rows, datasetVersionId: source.datasetVersionId, trainingJobId: null };
  }
  const job = await getPrisma().trainingJob.findFirst({ where: { id: source.trainingJobId, workspaceId } });
  if (!job) throw new ServiceError('not_found', 'No such fine-tuning job.', 'source.trainingJobId');
  const param = 'source.trainingJobId';
  if (job.validationFileId) {
    const rows = await versionRows(workspaceId, job.validationFileId, param);
    return { rows, datasetVersionId: job.validationFileId, trainingJobId: job.id };
  }
  // The rows its valSplit held out, stored by the trainer worker when the run started.
  if (!job.heldOutObjectKey) {
    throw new ServiceError(
      'invalid_request',
      'This job holds out no rows: it has neither a validation file nor a valSplit (or it has not started yet). Evaluate on a dataset version instead.',
      param,
    );
  }
  const what = `the rows job ${job.suffix ?? job.id} held out`;
  if ((job.heldOutRowCount ?? 0) > EVALUATION_MAX_ROWS) {
    throw new ServiceError('invalid_request', tooManyRows(what, job.heldOutRowCount ?? 0), param);
  }
  const stream = await openRows(job.heldOutObjectKey, workspaceId);
  if (!stream) throw new ServiceError('conflict', `The stored held-out rows of job ${job.id} are missing.`, param);
  return { rows: await evaluationRows(stream, what, param), datasetVersionId: null, trainingJobId: job.id };
}

type TModelRow = {
  index: number;
  baseModelId: string;
  fineTunedModelId: string | null;
  checkpointJobId?: string;
  checkpointStep?: number;
  name: string;
  displayName: string;
};

/** How results name a checkpoint: its job's model and its step. */
const checkpointDisplayName = (model: string, step: number) => `${model} · step ${step}`;

/**
 * A stored checkpoint of a job of the workspace, named as the job's fine-tuned model (the name its tokens are priced
 * as; a job that has not finished yet: the name its model will get). Its folder holds the PEFT adapter (LoRA
 * methods) or the full weights (full fine-tuning), uploaded by the trainer worker at each save.
 */
async function resolveCheckpoint(
  workspaceId: string,
  ref: { id: string; step: number },
  index: number,
): Promise<TModelRow> {
  const db = getPrisma();
  const job = await db.trainingJob.findFirst({
    where: { id: ref.id, workspaceId },
    include: {
      baseModel: { select: { name: true } },
      workspace: { select: { slug: true } },
      fineTunedModel: { select: { name: true, displayName: true, deletedAt: true } },
    },
  });
  if (!job) throw new ServiceError('not_found', 'No such fine-tuning job.', `models.${index}.id`);
  const c = await db.checkpoint.findFirst({ where: { jobId: job.id, step: ref.step, workspaceId } });
  if (!c || c.prunedAt) {
    const kept = await db.checkpoint.findMany({
      where: { jobId: job.id, workspaceId, prunedAt: null },
      orderBy: { step: 'asc' },
      select: { step: true },
    });
    throw new ServiceError(
      'invalid_request',
      `${c ? `The checkpoint of step ${ref.step} was pruned (save_total_limit): its files are gone.` : `The job has no checkpoint of step ${ref.step}.`} ${kept.length ? `Its stored checkpoints: steps ${kept.map((k) => k.step).join(', ')}.` : 'It has no stored checkpoints.'}`,
      `models.${index}.step`,
    );
  }
  const ft = job.fineTunedModel && !job.fineTunedModel.deletedAt ? job.fineTunedModel : null;
  const name = ft?.name ?? `ft:${job.baseModel.name}:${job.workspace.slug}:${job.suffix ?? ''}:${job.id.slice(-8)}`;
  return {
    index,
    baseModelId: job.baseModelId,
    fineTunedModelId: null,
    checkpointJobId: job.id,
    checkpointStep: c.step,
    name,
    displayName: checkpointDisplayName(ft?.displayName ?? name, c.step),
  };
}

async function resolveModels(workspaceId: string, refs: z.output<typeof ZModelRef>[]): Promise<TModelRow[]> {
  const db = getPrisma();
  const out: TModelRow[] = [];
  for (const [index, ref] of refs.entries()) {
    const param = `models.${index}.id`;
    if (ref.kind === 'checkpoint') {
      out.push(await resolveCheckpoint(workspaceId, ref, index));
    } else if (ref.kind === 'fine_tuned') {
      const m = await db.fineTunedModel.findFirst({ where: { id: ref.id, workspaceId, deletedAt: null } });
      if (!m) throw new ServiceError('not_found', 'No such fine-tuned model.', param);
      if (!m.ggufAdapterObjectKey && !m.adapterObjectKey && !m.mergedObjectKey) {
        throw new ServiceError('invalid_request', `${m.name} has neither an adapter nor weights stored.`, param);
      }
      out.push({
        index,
        baseModelId: m.baseModelId,
        fineTunedModelId: m.id,
        name: m.name,
        displayName: m.displayName ?? m.name,
      });
    } else {
      const b = await db.baseModel.findFirst({ where: { id: ref.id, OR: [{ workspaceId }, { workspaceId: null }] } });
      if (!b) throw new ServiceError('not_found', 'No such base model.', param);
      if (b.status !== 'ready')
        throw new ServiceError('invalid_request', `${b.name} is ${b.status}, not ready.`, param);
      out.push({
        index,
        baseModelId: b.id,
        fineTunedModelId: null,
        name: b.name,
        displayName: b.displayName ?? b.name,
      });
    }
  }
  return out;
}

/** The served name of a running deployment of the workspace that judges (what its tokens are priced as). */
async function judgeModelName(workspaceId: string, deploymentId: string, param: string): Promise<string> {
  const d = await getPrisma().deployment.findFirst({
    where: { id: deploymentId, workspaceId },
    include: { fineTunedModel: { select: { name: true } }, baseModel: { select: { name: true } } },
  });
  if (!d) throw new ServiceError('not_found', 'No such deployment.', param);
  if (d.status !== 'running') {
    throw new ServiceError('invalid_request', `Deployment ${d.name} is ${d.status}; a judge must be running.`, param);
  }
  const name = d.fineTunedModel?.name ?? d.baseModel?.name;
  if (!name) throw new ServiceError('invalid_request', `Deployment ${d.name} names no model.`, param);
  return name;
}

/**
 * Creates an evaluation and enqueues it. `extra` is for OpenAI's Evals API: the eval it is a run of, the run's
 * data_source and metadata as given, and rows it built itself (file_content). Refused over a hard budget limit, and
 * when any model (or judge) has no inference price: its generation is charged as inference tokens.
 */
export async function createEvaluation(
  workspaceId: string,
  input: unknown,
  by: TCaller = {},
  extra: { evalId?: string; dataSource?: unknown; metadata?: unknown; rows?: TEvaluationRowInput[] } = {},
): Promise<TEvaluationRow> {
  await requireWithinBudget(workspaceId);
  const body = parseInput(ZCreateEvaluation, input);
  const models = await resolveModels(workspaceId, body.models);
  const judges: string[] = [];
  for (const [i, c] of body.criteria.entries()) {
    if (c.type === 'judge' || c.type === 'score_model') {
      judges.push(await judgeModelName(workspaceId, c.deploymentId, `criteria.${i}.deploymentId`));
    }
  }
  for (const name of new Set([...models.map((m) => m.name), ...judges])) {
    try {
      await assertInferenceChargeable({ workspaceId, model: name });
    } catch (error) {
      throw fromBillingError(error);
    }
  }
  const source = extra.rows
    ? { rows: extra.rows, datasetVersionId: null, trainingJobId: null }
    : await sourceRows(workspaceId, body.source);
  if (source.rows.length > EVALUATION_MAX_ROWS) {
    throw new ServiceError('invalid_request', `At most ${EVALUATION_MAX_ROWS} rows.`, 'source');
  }
  const db = getPrisma();
  const row = await db.$transaction(async (tx) => {
    const ev = await tx.evaluation.create({
      data: {
        workspaceId,
        name: body.name,
        datasetVersionId: source.datasetVersionId,
        trainingJobId: source.trainingJobId,
        settings: body.settings,
        criteria: body.criteria as Prisma.InputJsonValue,
        evalId: extra.evalId ?? null,
        dataSource: (extra.dataSource ?? undefined) as Prisma.InputJsonValue | undefined,
        metadata: (extra.metadata ?? undefined) as Prisma.InputJsonValue | undefined,
        rowCount: source.rows.length,
        totalCount: source.rows.length * models.length,
        createdById: by.userId ?? null,
      },
    });
    await tx.evaluationModel.createMany({ data: models.map((m) => ({ ...m, evaluationId: ev.id })) });
    await tx.evaluationRow.createMany({
      data: source.rows.map((r, index) => ({
        evaluationId: ev.id,
        index,
        messages: r.messages,
        label: r.label,
        item: r.item as Prisma.InputJsonValue,
      })),
    });
    return ev;
  });
  try {
    const job = await enqueue(evaluationRunJob, { evaluationId: row.id });
    await db.evaluation.update({ where: { id: row.id }, data: { queueJobId: job.id } });
  } catch (error) {
    await db.evaluation.update({
      where: { id: row.id },
      data: {
        status: 'failed',
        errorCode: 'queue_unavailable',
        errorMessage: 'The evaluation queue (Redis) did not take the run; create it again in a minute.',
        finishedAt: new Date(),
      },
    });
    throw new ServiceError('unavailable', `The evaluation queue did not take the run: ${(error as Error).message}`);
  }
  return findEvaluation(workspaceId, row.id);
}

export async function findEvaluation(workspaceId: string, evaluationId: string): Promise<TEvaluationRow> {
  const row = await getPrisma().evaluation.findFirst({
    where: { id: evaluationId, workspaceId },
    include: EVALUATION_INCLUDE,
  });
  if (!row) throw new ServiceError('not_found', 'No such evaluation.');
  return row;
}

/**
 * Cancels an evaluation that has not finished: one no worker has taken is cancelled at once (and its queue entry
 * removed); a running one gets the flag, and its worker stops before the next answer. Answers already made stay.
 */
export async function cancelEvaluation(workspaceId: string, evaluationId: string): Promise<TEvaluationRow> {
  const db = getPrisma();
  const ev = await findEvaluation(workspaceId, evaluationId);
  if (!(OPEN_EVALUATION_STATUSES as readonly string[]).includes(ev.status)) {
    throw new ServiceError('conflict', `The evaluation is already ${ev.status}.`);
  }
  const now = new Date();
  const notStarted = await db.evaluation.updateMany({
    where: { id: ev.id, workspaceId, status: 'queued', workerId: null },
    data: { status: 'cancelled', cancelRequestedAt: now, finishedAt: now },
  });
  if (notStarted.count === 1 && ev.queueJobId) {
    // Best effort: a worker that takes it anyway finds it cancelled and does nothing.
    await getQueue(QUEUE_NAMES.evaluations, { prefix: loadJobsEnv().REDIS_PREFIX })
      .remove(ev.queueJobId)
      .catch(() => 0);
  } else if (notStarted.count === 0) {
    await db.evaluation.updateMany({
      where: { id: ev.id, workspaceId, cancelRequestedAt: null },
      data: { cancelRequestedAt: now },
    });
  }
  return findEvaluation(workspaceId, ev.id);
}

/** The criteria of a stored evaluation, parsed (they were validated when it was created). */
export function criteriaOf(ev: { criteria: unknown }): TEvaluationCriterion[] {
  return ZEvaluationCriteria.parse(ev.criteria);
}
