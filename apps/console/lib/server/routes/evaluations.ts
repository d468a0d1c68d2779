import { getPrisma } from '@crucible/db';
import {
  cancelEvaluation,
  createEvaluation as createEvaluationOp,
  findEvaluation,
  type TEvaluationRow,
} from '@crucible/services';
import { z } from 'zod';
import { ZAddEvaluationRowsToDataset } from '../../schemas';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import { addedToDatasetResponse } from '../datasets/feedback';
import { AppError } from '../errors';
import { addEvaluationRowsToDataset } from '../evaluations/feedback';
import { nextPair, ratePair, winRates } from '../evaluations/ratings';
import { exportResults, metricNames, metricTable, resultRows } from '../evaluations/results';
import { download, json, readBody, readJson, route } from '../http';

/**
 * Evaluations (issue 16) under /api/workspaces/[slug]/evaluations: list, create (@crucible/services: rows copied in,
 * `evaluation.run` on the evaluations queue), detail with the metric table, cancel, rows side by side (sorted by
 * disagreement), CSV/JSONL export, blind A/B ratings with win rates, and rows into a dataset (the label or a model's
 * answer, edited). Viewers read and rate; developers create, cancel and add rows to datasets. Every query is scoped by
 * workspaceId (findEvaluation).
 */

export { ZCreateEvaluation } from '@crucible/services';

const iso = (d: Date | null) => d?.toISOString() ?? null;

function evaluationJson(ev: TEvaluationRow) {
  return {
    id: ev.id,
    name: ev.name,
    status: ev.status,
    progress: { done: ev.doneCount, total: ev.totalCount },
    rowCount: ev.rowCount,
    models: ev.models.map((m) => ({
      index: m.index,
      ...(m.checkpointJobId
        ? { kind: 'checkpoint' as const, id: m.checkpointJobId, step: m.checkpointStep }
        : m.fineTunedModelId
          ? { kind: 'fine_tuned' as const, id: m.fineTunedModelId }
          : { kind: 'base' as const, id: m.baseModelId }),
      name: m.name,
      displayName: m.displayName,
    })),
    source: { datasetVersionId: ev.datasetVersionId, trainingJobId: ev.trainingJobId },
    settings: ev.settings,
    criteria: ev.criteria,
    metrics: metricNames(ev),
    cancelRequested: ev.cancelRequestedAt !== null,
    error: ev.errorCode ? { code: ev.errorCode, message: ev.errorMessage } : null,
    createdAt: ev.createdAt.toISOString(),
    startedAt: iso(ev.startedAt),
    finishedAt: iso(ev.finishedAt),
  };
}

export const listEvaluations = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const rows = await getPrisma().evaluation.findMany({
    where: { workspaceId: workspace.id },
    include: { models: { orderBy: { index: 'asc' } } },
    orderBy: { createdAt: 'desc' },
    take: 100,
  });
  return json({ data: rows.map(evaluationJson) });
});

export const createEvaluation = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  // The operation checks the budget before it validates the body: over a hard limit the answer is 402.
  const body = (await readJson(req)) ?? {};
  const ev = await createEvaluationOp(ctx.workspace.id, body, { userId: ctx.user?.id ?? null, via: 'api' });
  await audit(req, actorOf(ctx), 'evaluation.create', { type: 'evaluation', id: ev.id }, { name: ev.name });
  return json(evaluationJson(ev), { status: 201 });
});

export const getEvaluation = route(async (req, { slug, evaluationId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const ev = await findEvaluation(workspace.id, evaluationId);
  return json({ ...evaluationJson(ev), results: await metricTable(ev) });
});

export const cancelEvaluationRoute = route(async (req, { slug, evaluationId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  return json(evaluationJson(await cancelEvaluation(workspace.id, evaluationId)), { status: 202 });
});

const ZRowsQuery = z.object({
  sort: z.enum(['index', 'disagreement']).default('index'),
  metric: z.string().max(64).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const listEvaluationRows = route(async (req, { slug, evaluationId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const ev = await findEvaluation(workspace.id, evaluationId);
  const q = ZRowsQuery.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!q.success) {
    throw new AppError(
      'invalid_request',
      'sort is index or disagreement; offset >= 0; limit 1-100.',
      String(q.error.issues[0]?.path[0] ?? 'sort'),
    );
  }
  return json(await resultRows(ev, q.data));
});

export const exportEvaluation = route(async (req, { slug, evaluationId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const ev = await findEvaluation(workspace.id, evaluationId);
  const format = new URL(req.url).searchParams.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl')
    throw new AppError('invalid_request', 'format is csv or jsonl.', 'format');
  const body = await exportResults(ev, format);
  const name = `evaluation-${ev.id}.${format}`;
  return download(body, name, format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8');
});

/** The signed-in member rating (an API key has no person behind it to rate blind). */
async function rater(req: Request, slug: string, evaluationId: string) {
  const { workspace, user } = await requireWorkspace(req, slug, 'viewer');
  const ev = await findEvaluation(workspace.id, evaluationId);
  if (!user) throw new AppError('invalid_request', 'Blind ratings are made by a signed-in member, not an API key.');
  return { ev, userId: user.id };
}

export const nextRatingPair = route(async (req, { slug, evaluationId }) => {
  const { ev, userId } = await rater(req, slug, evaluationId);
  return json({ pair: await nextPair(ev, userId) });
});

const ZRate = z.strictObject({ verdict: z.enum(['left', 'right', 'tie']) });

export const rateEvaluationPair = route(async (req, { slug, evaluationId, ratingId }) => {
  const { ev, userId } = await rater(req, slug, evaluationId);
  const { verdict } = await readBody(req, ZRate);
  await ratePair(ev, userId, ratingId, verdict);
  return json({ pair: await nextPair(ev, userId) });
});

export const getWinRates = route(async (req, { slug, evaluationId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const ev = await findEvaluation(workspace.id, evaluationId);
  return json({ data: await winRates(ev), confidence: 0.95, interval: 'wilson', ties: 'half' });
});

/** Rows into a new draft version of a ChatML dataset: each row's prompt with the label or a model's answer, edited. */
export const addEvaluationRowsToDatasetRoute = route(async (req, { slug, evaluationId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const ev = await findEvaluation(ctx.workspace.id, evaluationId);
  const body = await readBody(req, ZAddEvaluationRowsToDataset);
  return addedToDatasetResponse(req, ctx, 'dataset.add_evaluation_rows', 'rows', () =>
    addEvaluationRowsToDataset({ workspaceId: ctx.workspace.id, userId: ctx.user?.id ?? null }, ev, body),
  );
});
