import { assertWithinBudget, chargeInference, isBillingError } from '@crucible/billing';
import { getPrisma, type Prisma } from '@crucible/db';
import {
  JobError,
  QUEUE_DEFAULTS,
  type TEvaluationJobPayload,
  type TJobContext,
  ZEvaluationCriteria,
  ZEvaluationSettings,
} from '@crucible/jobs';
import { EngineError, type TEngine, type TGenerateResult, type TTarget } from '../engine';
import { createScorer, type TChatMessage } from '../evaluation/scoring';
import { evaluationEngine } from '../evaluations';

/**
 * `evaluation.run` (issue 16): every model of the evaluation (base, fine-tuned, a job's checkpoint) answers every row
 * on this worker's llama.cpp engine — the path the models are served on — model after model (a model's weights stay loaded while it answers), and each
 * answer is scored and stored with its scores as one `EvaluationOutput` row. Generation (and a judge's) is charged as
 * inference tokens through @crucible/billing, keyed per answer, so a retry never charges twice.
 *
 * - Progress: `doneCount` of `totalCount` on the Evaluation row, written after each answer.
 * - Cancel: the row's `cancelRequestedAt`, read before each answer; what is done stays.
 * - A crash (or a hand-back on shutdown): BullMQ gives the job to another worker, which skips every answer already
 *   stored (unique per evaluation, model and row) and goes on from there.
 */

const OVERLOADED_TRIES = 5;
/** How often the hard budget limit is checked while the evaluation runs (every N answers). */
const BUDGET_EVERY = 20;

/** A judge's reply is a score and a reason of at most 160 characters (judgeSchema): this many tokens hold it. */
const JUDGE_MAX_TOKENS = 224;

const db = () => getPrisma();

/** An error of one request (its prompt is over the model's context), not of the model or the worker. */
const rowLevel = (error: unknown): error is EngineError =>
  error instanceof EngineError && (error.code === 'context_length_exceeded' || error.code === 'invalid_request');

type TEval = NonNullable<Awaited<ReturnType<typeof load>>>;
const load = (id: string) =>
  db().evaluation.findUnique({ where: { id }, include: { models: { orderBy: { index: 'asc' } } } });

async function finish(
  id: string,
  status: 'succeeded' | 'failed' | 'cancelled',
  error?: { code: string; message: string },
) {
  await db().evaluation.update({
    where: { id },
    data: {
      status,
      finishedAt: new Date(),
      errorCode: error?.code ?? null,
      errorMessage: error?.message.slice(0, 1000) ?? null,
    },
  });
}

/** One generation, waiting and trying again while this worker's queue for the model is full. */
async function generate(
  engine: TEngine,
  target: TTarget,
  input: Parameters<TEngine['generate']>[1],
  signal: AbortSignal,
): Promise<TGenerateResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await engine.generate(target, input, {}, signal);
    } catch (error) {
      if (!(error instanceof EngineError) || error.code !== 'overloaded' || attempt >= OVERLOADED_TRIES) throw error;
      await new Promise((r) => setTimeout(r, 2_000 * attempt));
    }
  }
}

/** What a judge deployment serves and what its tokens are priced as. */
async function judgeOf(workspaceId: string, deploymentId: string) {
  const d = await db().deployment.findFirst({
    where: { id: deploymentId, workspaceId },
    include: {
      fineTunedModel: { select: { id: true, name: true, baseModelId: true } },
      baseModel: { select: { id: true, name: true } },
    },
  });
  if (!d) throw new JobError('not_found', `The judge deployment ${deploymentId} no longer exists.`);
  if (d.fineTunedModel) {
    const m = d.fineTunedModel;
    return {
      deploymentId: d.id,
      name: m.name,
      modelId: m.id,
      target: { baseModelId: m.baseModelId, fineTunedModelId: m.id },
    };
  }
  if (!d.baseModel) throw new JobError('not_found', `The judge deployment ${d.name} names no model.`);
  return {
    deploymentId: d.id,
    name: d.baseModel.name,
    modelId: d.baseModel.id,
    target: { baseModelId: d.baseModel.id },
  };
}

async function run(ev: TEval, engine: TEngine, ctx: TJobContext): Promise<'done' | 'cancelled' | 'handed_back'> {
  const settings = ZEvaluationSettings.parse(ev.settings);
  const criteria = ZEvaluationCriteria.parse(ev.criteria);
  const judges = new Map<string, Awaited<ReturnType<typeof judgeOf>>>();
  for (const c of criteria) {
    if ((c.type === 'judge' || c.type === 'score_model') && !judges.has(c.deploymentId)) {
      judges.set(c.deploymentId, await judgeOf(ev.workspaceId, c.deploymentId));
    }
  }
  const rows = await db().evaluationRow.findMany({ where: { evaluationId: ev.id }, orderBy: { index: 'asc' } });
  const stored = await db().evaluationOutput.findMany({
    where: { evaluationId: ev.id },
    select: { modelIndex: true, rowIndex: true },
  });
  const done = new Set(stored.map((o) => `${o.modelIndex}:${o.rowIndex}`));
  await db().evaluation.update({ where: { id: ev.id }, data: { doneCount: done.size } });
  const charge = (
    requestId: string,
    model: { name: string; modelId: string; deploymentId?: string },
    r: TGenerateResult,
  ) =>
    chargeInference({
      workspaceId: ev.workspaceId,
      requestId,
      model: model.name,
      modelId: model.modelId,
      deploymentId: model.deploymentId ?? null,
      userId: ev.createdById,
      inputTokens: r.promptTokens,
      outputTokens: r.completionTokens,
      metadata: { evaluationId: ev.id },
    });
  let answered = 0;

  for (const model of ev.models) {
    const target: TTarget = {
      baseModelId: model.baseModelId,
      fineTunedModelId: model.fineTunedModelId,
      checkpoint:
        model.checkpointJobId && model.checkpointStep !== null
          ? { jobId: model.checkpointJobId, step: model.checkpointStep }
          : null,
    };
    for (const row of rows) {
      if (done.has(`${model.index}:${row.index}`)) continue;
      if (ctx.signal.aborted) return 'handed_back';
      const flag = await db().evaluation.findUnique({ where: { id: ev.id }, select: { cancelRequestedAt: true } });
      if (!flag || flag.cancelRequestedAt) return 'cancelled';
      if (answered % BUDGET_EVERY === 0) await assertWithinBudget(ev.workspaceId);
      answered += 1;
      const requestId = `eval-${ev.id}-${model.index}-${row.index}`;
      const messages = row.messages as TChatMessage[];
      let result: TGenerateResult | null = null;
      let failure: { code: string; message: string } | null = null;
      try {
        result = await generate(
          engine,
          target,
          {
            kind: 'chat',
            messages,
            maxTokens: settings.maxNewTokens,
            temperature: settings.temperature,
            topP: settings.topP,
            ...(settings.seed === undefined ? {} : { seed: settings.seed + row.index }),
          },
          ctx.signal,
        );
      } catch (error) {
        if (ctx.signal.aborted) return 'handed_back';
        // A row the model cannot take (a prompt over its context) is that row's error; anything else ends the run.
        if (
          error instanceof EngineError &&
          (error.code === 'context_length_exceeded' || error.code === 'invalid_request')
        ) {
          failure = { code: error.code, message: error.message };
        } else if (error instanceof EngineError) {
          throw new JobError('handler_failed', `${model.displayName}: ${error.message}`, {
            retryable: error.code === 'overloaded' || error.code === 'model_unavailable',
            cause: error,
          });
        } else {
          throw error;
        }
      }
      if (result)
        await charge(requestId, { name: model.name, modelId: model.fineTunedModelId ?? model.baseModelId }, result);
      const scorer = createScorer(criteria, async (judge, judgeMessages, jsonSchema) => {
        const j = judges.get(judge.deploymentId)!;
        try {
          const r = await generate(
            engine,
            j.target,
            { kind: 'chat', messages: judgeMessages, maxTokens: JUDGE_MAX_TOKENS, temperature: 0, jsonSchema },
            ctx.signal,
          );
          await charge(`${requestId}-${judge.key}`, j, r);
          return { text: r.text };
        } catch (error) {
          if (rowLevel(error)) return { error: `${error.code}: ${error.message}` };
          throw error;
        }
      });
      const item = (row.item ?? {}) as Record<string, unknown>;
      const scored = result
        ? await scorer({ messages, label: row.label, item, answer: result.text })
        : { scores: {}, details: {} };
      const { count } = await db().evaluationOutput.createMany({
        data: [
          {
            evaluationId: ev.id,
            modelIndex: model.index,
            rowIndex: row.index,
            text: result?.text ?? '',
            finishReason: result?.finishReason ?? null,
            promptTokens: result?.promptTokens ?? 0,
            completionTokens: result?.completionTokens ?? 0,
            scores: scored.scores,
            details: scored.details as Prisma.InputJsonValue,
            errorCode: failure?.code ?? null,
            errorMessage: failure?.message.slice(0, 1000) ?? null,
          },
        ],
        skipDuplicates: true,
      });
      done.add(`${model.index}:${row.index}`);
      if (count) await db().evaluation.update({ where: { id: ev.id }, data: { doneCount: { increment: count } } });
    }
  }
  return 'done';
}

/** The code on a failed evaluation's row: the engine's (model_not_found, ...), the budget's, or the job's. */
function failureCode(error: unknown, budget: boolean): string {
  if (budget) return 'budget_exceeded';
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof EngineError) return cause.code;
  return error instanceof JobError ? error.code : 'evaluation_failed';
}

export default async function runEvaluation(payload: TEvaluationJobPayload, ctx: TJobContext) {
  const engine = evaluationEngine();
  if (!engine)
    throw new JobError('handler_failed', 'This worker has no model engine for evaluations.', { retryable: true });
  const ev = await load(payload.evaluationId);
  if (!ev)
    throw new JobError('not_found', `Evaluation ${payload.evaluationId} does not exist (deleted before it ran).`);
  if (ev.status !== 'queued' && ev.status !== 'running') return { status: ev.status };
  if (ev.cancelRequestedAt) {
    await finish(ev.id, 'cancelled');
    return { status: 'cancelled' };
  }
  await db().evaluation.update({
    where: { id: ev.id },
    data: {
      status: 'running',
      startedAt: ev.startedAt ?? new Date(),
      workerId: ctx.workerId,
      attempts: { increment: 1 },
    },
  });
  try {
    const outcome = await run(ev, engine, ctx);
    // Handed back on shutdown: the row stays running; the next worker goes on from the stored answers.
    if (outcome === 'handed_back') return { status: 'running' };
    await finish(ev.id, outcome === 'cancelled' ? 'cancelled' : 'succeeded');
    ctx.log(`evaluation ${ev.id} ${outcome === 'cancelled' ? 'cancelled' : 'succeeded'}`);
    return { status: outcome === 'cancelled' ? 'cancelled' : 'succeeded' };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const budget = isBillingError(error, 'budget_exceeded');
    const retryable = !budget && (error instanceof JobError ? error.retryable : true);
    // The last try (or an error no retry mends) leaves the row failed with the reason; earlier ones retry.
    if (!retryable || ctx.attempt >= QUEUE_DEFAULTS.job.attempts) {
      await finish(ev.id, 'failed', { code: failureCode(error, budget), message: (error as Error).message });
      throw error instanceof JobError ? error : new JobError('handler_failed', (error as Error).message);
    }
    throw error;
  }
}
