import { getPrisma, type Prisma } from '@crucible/db';
import { renderTemplate, type TEvaluationCriterion } from '@crucible/jobs';
import {
  createEvaluation,
  EVALUATION_MAX_ROWS,
  findEvaluation,
  type TEvaluationRow,
  type TEvaluationRowInput,
  versionRows,
} from '@crucible/services';
import { z } from 'zod';
import { AppError } from '../errors';
import { apiKeyWorkspace as keyWorkspace } from '../gateway/auth';
import { openaiRoute as openai } from '../gateway/errors';
import { resolveModel } from '../gateway/models';
import { readBody } from '../http';

/**
 * OpenAI's Evals API (issue 16), the subset that maps honestly onto Crucible's evaluations, for the official SDKs
 * with a workspace API key (documented in docs/ARCHITECTURE.md):
 * - `POST/GET /v1/evals`, `GET /v1/evals/{id}`: an eval is a stored `data_source_config` (`custom` only) and
 *   `testing_criteria` of types `string_check` (eq, ne, like, ilike), `text_similarity` (`bleu`, `rouge_1`,
 *   `rouge_2`, `rouge_l`: LLaMA-Factory's scores / 100) and `score_model` (`model` names a running deployment of the
 *   workspace, by deployment name or served model id; text-only input messages).
 * - `POST/GET /v1/evals/{id}/runs`, `GET .../runs/{run_id}`, `GET .../runs/{run_id}/output_items`: a run is an
 *   Evaluation with one model. Its `data_source` is `completions` with `model`, `source` `file_id` (a stored dataset
 *   version, `file-…` as /v1/files names it: each chat row is the item `{input: <messages before the last assistant
 *   turn>, reference: <that turn>}`) or `file_content` (items given inline), `input_messages` `item_reference` or
 *   `template` (text content, `{{item.x}}` filled), and `sampling_params` max_completion_tokens, temperature, top_p,
 *   seed. Runs answer on the serving workers like any evaluation and are billed as inference.
 * Not supported (400 naming the field): logs/stored_completions sources, `jsonl` runs (pre-made samples),
 * label_model/python/multi graders, images and audio, tools, response_format.
 */

const secs = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);
const bad = (message: string, param: string) => new AppError('invalid_request', message, param);

const evalIdOf = (id: string) => {
  if (!id.startsWith('eval_') || id.length < 6) throw new AppError('not_found', `No such eval: ${id}`, 'eval_id');
  return id.slice(5);
};
const runIdOf = (id: string) => {
  if (!id.startsWith('evalrun_') || id.length < 9) throw new AppError('not_found', `No such eval run: ${id}`, 'run_id');
  return id.slice(8);
};

const ZMessage = z.object({
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.string({ error: 'only text content is supported' }),
  type: z.literal('message').optional(),
});

const ZGrader = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('string_check'),
    name: z.string().min(1).max(64),
    input: z.string().max(8000),
    reference: z.string().max(8000),
    operation: z.enum(['eq', 'ne', 'like', 'ilike']),
  }),
  z.object({
    type: z.literal('text_similarity'),
    name: z.string().min(1).max(64),
    input: z.string().max(8000),
    reference: z.string().max(8000),
    evaluation_metric: z.enum(['bleu', 'rouge_1', 'rouge_2', 'rouge_l'], {
      error: 'supported metrics: bleu, rouge_1, rouge_2, rouge_l',
    }),
    pass_threshold: z.number().min(0).max(1),
  }),
  z.object({
    type: z.literal('score_model'),
    name: z.string().min(1).max(64),
    model: z.string().min(1),
    input: z.array(ZMessage).min(1).max(16),
    range: z.tuple([z.number(), z.number()]).optional(),
    pass_threshold: z.number().nullish(),
    sampling_params: z.unknown().optional(),
  }),
]);
type TGrader = z.infer<typeof ZGrader>;

const ZMetadata = z.record(z.string().max(64), z.string().max(512)).nullish();

const ZCreateEval = z.object({
  name: z.string().max(256).optional(),
  data_source_config: z.object({
    type: z.literal('custom', { error: 'only the custom data source config is supported' }),
    item_schema: z.record(z.string(), z.unknown()),
    include_sample_schema: z.boolean().optional(),
  }),
  testing_criteria: z
    .array(
      z.unknown().superRefine((g, ctx) => {
        const parsed = ZGrader.safeParse(g);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const type = (g as { type?: unknown })?.type;
          ctx.addIssue({
            code: 'custom',
            message:
              issue?.code === 'invalid_union'
                ? `grader type ${JSON.stringify(type)} is not supported here (string_check, text_similarity, score_model)`
                : (issue?.message ?? 'not a supported grader'),
            path: issue?.path ?? [],
          });
        }
      }),
    )
    .min(1)
    .max(16),
  metadata: ZMetadata,
});

function evalObject(e: {
  id: string;
  name: string;
  dataSourceConfig: unknown;
  testingCriteria: unknown;
  metadata: unknown;
  createdAt: Date;
}) {
  const config = e.dataSourceConfig as { item_schema: Record<string, unknown>; include_sample_schema?: boolean };
  const sample = config.include_sample_schema
    ? {
        sample: {
          type: 'object',
          properties: { output_text: { type: 'string' }, model: { type: 'string' } },
          required: ['output_text'],
        },
      }
    : {};
  return {
    object: 'eval',
    id: `eval_${e.id}`,
    name: e.name,
    data_source_config: {
      type: 'custom',
      schema: {
        type: 'object',
        properties: { item: config.item_schema, ...sample },
        required: config.include_sample_schema ? ['item', 'sample'] : ['item'],
      },
    },
    testing_criteria: e.testingCriteria,
    created_at: secs(e.createdAt),
    metadata: e.metadata ?? null,
  };
}

async function findEval(workspaceId: string, id: string) {
  const e = await getPrisma().evalDefinition.findFirst({ where: { id: evalIdOf(id), workspaceId } });
  if (!e) throw new AppError('not_found', `No such eval: ${id}`, 'eval_id');
  return e;
}

/** OpenAI's cursor pages: `after` an id, `limit` (1-100, default 20), `order` asc (default) or desc by creation. */
function pageOf(req: Request) {
  const q = new URL(req.url).searchParams;
  const limit = Math.min(100, Math.max(1, Number(q.get('limit') ?? 20) || 20));
  const order: 'asc' | 'desc' = q.get('order') === 'desc' ? 'desc' : 'asc';
  return { limit, order, after: q.get('after') };
}

function listOf<T extends { id: string }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: rows.length > limit,
  };
}

export const createEval = openai(async (req) => {
  const workspaceId = await keyWorkspace(req);
  const body = await readBody(req, ZCreateEval);
  const e = await getPrisma().evalDefinition.create({
    data: {
      workspaceId,
      name: body.name ?? 'eval',
      dataSourceConfig: body.data_source_config as Prisma.InputJsonValue,
      testingCriteria: body.testing_criteria as Prisma.InputJsonValue,
      metadata: (body.metadata ?? undefined) as Prisma.InputJsonValue | undefined,
    },
  });
  return Response.json(evalObject(e));
});

export const listEvals = openai(async (req) => {
  const workspaceId = await keyWorkspace(req);
  const { limit, order, after } = pageOf(req);
  const rows = await getPrisma().evalDefinition.findMany({
    where: { workspaceId },
    orderBy: [{ createdAt: order }, { id: order }],
    take: limit + 1,
    ...(after ? { cursor: { id: evalIdOf(after) }, skip: 1 } : {}),
  });
  return Response.json(listOf(rows.map(evalObject), limit));
});

export const retrieveEval = openai(async (req, { evalId }) => {
  const workspaceId = await keyWorkspace(req);
  return Response.json(evalObject(await findEval(workspaceId, evalId)));
});

// ───────────────────────────── runs ─────────────────────────────

const ZCreateRun = z.object({
  name: z.string().max(256).optional(),
  metadata: ZMetadata,
  data_source: z.object({
    type: z.literal('completions', { error: 'only completions runs are supported (the model answers each item)' }),
    model: z.string({ error: 'name the model that answers' }).min(1),
    source: z.discriminatedUnion('type', [
      z.object({ type: z.literal('file_id'), id: z.string().min(1) }),
      z.object({
        type: z.literal('file_content'),
        content: z
          .array(z.object({ item: z.record(z.string(), z.unknown()), sample: z.unknown().optional() }))
          .min(1)
          .max(EVALUATION_MAX_ROWS),
      }),
    ]),
    input_messages: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('template'), template: z.array(ZMessage).min(1).max(32) }),
        z.object({ type: z.literal('item_reference'), item_reference: z.string().min(1) }),
      ])
      .optional(),
    sampling_params: z
      .object({
        max_completion_tokens: z.number().int().min(1).max(4096).optional(),
        temperature: z.number().min(0).max(2).optional(),
        top_p: z.number().gt(0).max(1).optional(),
        seed: z.number().int().min(0).optional(),
      })
      .optional(),
  }),
});
type TRunSource = z.infer<typeof ZCreateRun>['data_source'];

/** The chat prompt of one item: the template filled in, or the messages (or text) the item reference points at. */
function promptOf(item: Record<string, unknown>, input: TRunSource['input_messages'], at: number) {
  const param = 'data_source.input_messages';
  if (!input) throw bad('input_messages is required with file_content items.', param);
  if (input.type === 'template') {
    return input.template.map((m) => ({ role: m.role, content: renderTemplate(m.content, { item }) }));
  }
  const path = input.item_reference.replace(/^item\./, '');
  let v: unknown = item;
  for (const part of path.split('.')) v = (v as Record<string, unknown> | null)?.[part];
  if (typeof v === 'string') return [{ role: 'user', content: v }];
  const ok =
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (m) =>
        typeof (m as { role?: unknown }).role === 'string' && typeof (m as { content?: unknown }).content === 'string',
    );
  if (!ok) throw bad(`item ${at}: ${input.item_reference} is neither text nor a list of text messages.`, param);
  return (v as { role: string; content: string }[]).map((m) => ({ role: m.role, content: m.content }));
}

async function runRows(
  workspaceId: string,
  ds: TRunSource,
): Promise<{ rows: TEvaluationRowInput[]; versionId: string | null }> {
  if (ds.source.type === 'file_id') {
    if (!ds.source.id.startsWith('file-')) throw bad(`No such File object: ${ds.source.id}`, 'data_source.source.id');
    const versionId = ds.source.id.slice(5);
    const rows = await versionRows(workspaceId, versionId, 'data_source.source.id').catch((error) => {
      throw error instanceof Error && (error as { code?: string }).code === 'not_found'
        ? bad(`No such File object: ${ds.source.type === 'file_id' ? ds.source.id : ''}`, 'data_source.source.id')
        : error;
    });
    const input = ds.input_messages ?? { type: 'item_reference' as const, item_reference: 'item.input' };
    return { rows: rows.map((r, i) => ({ ...r, messages: promptOf(r.item, input, i) })), versionId };
  }
  const rows = ds.source.content.map((c, i) => ({
    messages: promptOf(c.item, ds.input_messages, i),
    label: typeof c.item.reference === 'string' ? c.item.reference : '',
    item: c.item,
  }));
  return { rows, versionId: null };
}

/** The eval's graders as evaluation criteria; a score_model's `model` is a running deployment of the workspace. */
async function criteriaOf(workspaceId: string, graders: TGrader[]): Promise<TEvaluationCriterion[]> {
  const out: TEvaluationCriterion[] = [];
  for (const [i, g] of graders.entries()) {
    if (g.type === 'string_check') {
      out.push({ type: g.type, name: g.name, input: g.input, reference: g.reference, operation: g.operation });
    } else if (g.type === 'text_similarity') {
      out.push({
        type: g.type,
        name: g.name,
        input: g.input,
        reference: g.reference,
        metric: g.evaluation_metric,
        passThreshold: g.pass_threshold,
      });
    } else {
      const deployments = await getPrisma().deployment.findMany({
        where: { workspaceId, status: 'running' },
        include: { fineTunedModel: { select: { name: true } }, baseModel: { select: { name: true } } },
        orderBy: { startedAt: 'desc' },
      });
      const d =
        deployments.find((x) => x.name === g.model) ??
        deployments.find((x) => (x.fineTunedModel?.name ?? x.baseModel?.name) === g.model);
      if (!d) {
        throw bad(
          `score_model ${g.name}: ${g.model} is not a running deployment of this workspace (give a deployment's name or its model).`,
          `testing_criteria.${i}.model`,
        );
      }
      out.push({
        type: 'score_model',
        name: g.name,
        deploymentId: d.id,
        input: g.input.map((m) => ({ role: m.role, content: m.content })),
        range: g.range ?? [0, 1],
        passThreshold: g.pass_threshold ?? null,
      });
    }
  }
  return out;
}

const RUN_STATUS: Record<string, string> = {
  queued: 'queued',
  running: 'in_progress',
  succeeded: 'completed',
  failed: 'failed',
  cancelled: 'canceled',
};

type TOutputRow = Awaited<ReturnType<typeof outputsOf>>[number];
const outputsOf = (evaluationId: string, page?: { after?: string | null; limit?: number; order?: 'asc' | 'desc' }) =>
  getPrisma().evaluationOutput.findMany({
    where: { evaluationId },
    orderBy: [{ rowIndex: page?.order ?? 'asc' }, { modelIndex: 'asc' }],
    ...(page?.limit ? { take: page.limit + 1 } : {}),
    ...(page?.after ? { cursor: { id: page.after.replace(/^outputitem_/, '') }, skip: 1 } : {}),
  });

type TGraderResult = { passed: boolean };
const gradersOf = (o: TOutputRow) =>
  ((o.details as { graders?: Record<string, TGraderResult> } | null)?.graders ?? {}) as Record<string, TGraderResult>;
const itemStatus = (o: TOutputRow) =>
  o.errorCode ? 'error' : Object.values(gradersOf(o)).every((g) => g.passed) ? 'pass' : 'fail';

async function runObject(ev: TEvaluationRow, slug: string) {
  const outputs = await outputsOf(ev.id);
  const names = ((ev.criteria as { name?: string }[]) ?? []).map((c) => c.name).filter((n): n is string => !!n);
  const model = ev.models[0];
  const origin = process.env.APP_URL ?? 'http://localhost:3000';
  return {
    object: 'eval.run',
    id: `evalrun_${ev.id}`,
    eval_id: `eval_${ev.evalId}`,
    name: ev.name,
    model: model?.name ?? '',
    status: RUN_STATUS[ev.status] ?? ev.status,
    created_at: secs(ev.createdAt),
    data_source: ev.dataSource,
    metadata: ev.metadata ?? null,
    error: ev.errorCode ? { code: ev.errorCode, message: ev.errorMessage ?? '' } : null,
    report_url: `${origin}/w/${slug}/evaluations/${ev.id}`,
    result_counts: {
      total: outputs.length,
      errored: outputs.filter((o) => itemStatus(o) === 'error').length,
      passed: outputs.filter((o) => itemStatus(o) === 'pass').length,
      failed: outputs.filter((o) => itemStatus(o) === 'fail').length,
    },
    per_model_usage: ev.models.map((m) => {
      const mine = outputs.filter((o) => o.modelIndex === m.index);
      const prompt = mine.reduce((n, o) => n + o.promptTokens, 0);
      const completion = mine.reduce((n, o) => n + o.completionTokens, 0);
      return {
        model_name: m.name,
        invocation_count: mine.length,
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        cached_tokens: 0,
      };
    }),
    per_testing_criteria_results: names.map((name) => ({
      testing_criteria: name,
      passed: outputs.filter((o) => gradersOf(o)[name]?.passed === true).length,
      failed: outputs.filter((o) => gradersOf(o)[name]?.passed === false).length,
    })),
  };
}

async function workspaceSlug(workspaceId: string) {
  return (await getPrisma().workspace.findUniqueOrThrow({ where: { id: workspaceId }, select: { slug: true } })).slug;
}

export const createEvalRun = openai(async (req, { evalId }) => {
  const workspaceId = await keyWorkspace(req);
  const e = await findEval(workspaceId, evalId);
  const body = await readBody(req, ZCreateRun);
  const ds = body.data_source;
  const model = await resolveModel(workspaceId, ds.model);
  const criteria = await criteriaOf(workspaceId, ZGrader.array().parse(e.testingCriteria));
  const { rows, versionId } = await runRows(workspaceId, ds);
  const sp = ds.sampling_params ?? {};
  const ev = await createEvaluation(
    workspaceId,
    {
      name: body.name ?? `${e.name}: ${model.openaiId}`,
      models: [{ kind: model.kind, id: model.modelId }],
      settings: {
        maxNewTokens: sp.max_completion_tokens ?? 256,
        temperature: sp.temperature ?? 0,
        topP: sp.top_p ?? 1,
        ...(sp.seed === undefined ? {} : { seed: sp.seed }),
      },
      criteria,
    },
    { userId: null, via: 'api' },
    { evalId: e.id, dataSource: ds, metadata: body.metadata ?? undefined, rows },
  );
  if (versionId) await getPrisma().evaluation.update({ where: { id: ev.id }, data: { datasetVersionId: versionId } });
  return Response.json(await runObject(ev, await workspaceSlug(workspaceId)));
});

export const listEvalRuns = openai(async (req, { evalId }) => {
  const workspaceId = await keyWorkspace(req);
  const e = await findEval(workspaceId, evalId);
  const { limit, order, after } = pageOf(req);
  const rows = await getPrisma().evaluation.findMany({
    where: { workspaceId, evalId: e.id },
    include: { models: { orderBy: { index: 'asc' } } },
    orderBy: [{ createdAt: order }, { id: order }],
    take: limit + 1,
    ...(after ? { cursor: { id: runIdOf(after) }, skip: 1 } : {}),
  });
  const slug = await workspaceSlug(workspaceId);
  return Response.json(listOf(await Promise.all(rows.map((r) => runObject(r, slug))), limit));
});

async function findRun(workspaceId: string, evalId: string, runId: string) {
  const e = await findEval(workspaceId, evalId);
  const ev = await findEvaluation(workspaceId, runIdOf(runId)).catch(() => null);
  if (!ev || ev.evalId !== e.id) throw new AppError('not_found', `No such eval run: ${runId}`, 'run_id');
  return ev;
}

export const retrieveEvalRun = openai(async (req, { evalId, runId }) => {
  const workspaceId = await keyWorkspace(req);
  const ev = await findRun(workspaceId, evalId, runId);
  return Response.json(await runObject(ev, await workspaceSlug(workspaceId)));
});

export const listEvalRunOutputItems = openai(async (req, { evalId, runId }) => {
  const workspaceId = await keyWorkspace(req);
  const ev = await findRun(workspaceId, evalId, runId);
  const { limit, order, after } = pageOf(req);
  const [outputs, rows] = await Promise.all([
    outputsOf(ev.id, { after, limit, order }),
    getPrisma().evaluationRow.findMany({ where: { evaluationId: ev.id } }),
  ]);
  const settings = ev.settings as { maxNewTokens: number; temperature: number; topP: number; seed?: number };
  const criteria = (ev.criteria as { type: string; name?: string }[]).filter((c) => c.name);
  const data = outputs.map((o) => {
    const row = rows.find((r) => r.index === o.rowIndex);
    const graders = gradersOf(o);
    const scores = o.scores as Record<string, number | null>;
    return {
      object: 'eval.run.output_item',
      id: `outputitem_${o.id}`,
      run_id: `evalrun_${ev.id}`,
      eval_id: `eval_${ev.evalId}`,
      created_at: secs(o.createdAt),
      status: itemStatus(o),
      datasource_item_id: o.rowIndex,
      datasource_item: row?.item ?? {},
      results: criteria.map((c) => ({
        name: c.name,
        type: c.type,
        score: scores[c.name as string] ?? 0,
        passed: graders[c.name as string]?.passed ?? false,
        sample: null,
      })),
      sample: {
        input: (row?.messages ?? []) as { role: string; content: string }[],
        output: [{ role: 'assistant', content: o.text }],
        finish_reason: o.finishReason ?? '',
        model: ev.models.find((m) => m.index === o.modelIndex)?.name ?? '',
        usage: {
          prompt_tokens: o.promptTokens,
          completion_tokens: o.completionTokens,
          total_tokens: o.promptTokens + o.completionTokens,
          cached_tokens: 0,
        },
        error: o.errorCode ? { code: o.errorCode, message: o.errorMessage ?? '' } : null,
        temperature: settings.temperature,
        max_completion_tokens: settings.maxNewTokens,
        top_p: settings.topP,
        seed: settings.seed ?? null,
      },
    };
  });
  return Response.json(listOf(data, limit));
});
