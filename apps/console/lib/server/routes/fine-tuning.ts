import { getPrisma, metricRowJson } from '@crucible/db';
import { cancelJob, createJob, findJob, planJob, type TJobRow } from '@crucible/services';
import { ZCreateFineTuningJob } from '../../schemas/fine-tuning';
import { requireWorkspace } from '../context';
import { json, readBody, route } from '../http';
import { jobJson, listJobRows } from './fine-tuning-core';

/**
 * Console REST for fine-tuning jobs under /api/workspaces/[slug]/fine-tuning: estimate, create, list, detail,
 * cancel, metrics, events, checkpoints (the SSE stream is in fine-tuning-stream.ts). Viewers read, developers
 * write; session or workspace API key. Estimate, create and cancel are @crucible/services' planJob, createJob and
 * cancelJob (the OpenAI API and the CLI call the same).
 */

const PAGE = 100;
const limitOf = (req: Request, max = PAGE) => {
  const raw = Number(new URL(req.url).searchParams.get('limit') ?? max);
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, max) : max;
};

/** The job objects with their charged cost (usage ledger) once anything was charged, else the estimate. */
export async function withCost(workspaceId: string, rows: TJobRow[]) {
  const sums = rows.length
    ? await getPrisma().usageRecord.groupBy({
        by: ['jobId', 'currency'],
        where: { workspaceId, jobId: { in: rows.map((r) => r.id) } },
        _sum: { amount: true },
      })
    : [];
  return rows.map((r) => {
    const j = jobJson(r);
    const s = sums.find((x) => x.jobId === r.id);
    if (s?._sum.amount)
      j.cost = { amount: s._sum.amount.toDecimalPlaces(6).toString(), currency: s.currency, estimated: false };
    return j;
  });
}

export const estimateJob = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const input = await readBody(req, ZCreateFineTuningJob);
  const plan = await planJob(workspace.id, input);
  // With the method and settings it assumed (a demo model's preset may have filled them in).
  return json({ ...plan.estimate, method: plan.method, hyperparameters: plan.hyperparameters });
});

export const createJobRoute = route(async (req, { slug }) => {
  const { workspace, user } = await requireWorkspace(req, slug, 'developer');
  const input = await readBody(req, ZCreateFineTuningJob);
  const row = await createJob(workspace.id, input, { userId: user?.id, via: 'api' });
  return json((await withCost(workspace.id, [row]))[0], { status: 201 });
});

export const listJobsRoute = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const rows = await listJobRows(workspace.id, limitOf(req));
  return json({ data: await withCost(workspace.id, rows) });
});

export const getJobRoute = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await findJob(workspace.id, jobId);
  return json((await withCost(workspace.id, [row]))[0]);
});

export const cancelJobRoute = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  const row = await cancelJob(workspace.id, jobId, { via: 'api' });
  return json((await withCost(workspace.id, [row]))[0]);
});

export async function jobMetrics(workspaceId: string, jobId: string) {
  const rows = await getPrisma().trainingMetric.findMany({ where: { workspaceId, jobId }, orderBy: { step: 'asc' } });
  return rows.map(metricRowJson);
}

export async function jobEvents(workspaceId: string, jobId: string, take = 1000) {
  const rows = await getPrisma().jobEvent.findMany({
    where: { workspaceId, jobId },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take,
  });
  return rows.map((e) => ({
    id: e.id,
    level: e.level,
    message: e.message,
    code: e.code,
    params: e.params,
    createdAt: e.createdAt.toISOString(),
  }));
}

export const listJobMetrics = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findJob(workspace.id, jobId);
  return json({ data: await jobMetrics(workspace.id, jobId) });
});

export const listJobEvents = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findJob(workspace.id, jobId);
  return json({ data: await jobEvents(workspace.id, jobId, limitOf(req, 1000)) });
});

export const listJobCheckpoints = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findJob(workspace.id, jobId);
  const rows = await getPrisma().checkpoint.findMany({
    // A checkpoint pruned by save_total_limit has no files left: not listed.
    where: { workspaceId: workspace.id, jobId, prunedAt: null },
    orderBy: { step: 'asc' },
  });
  return json({
    data: rows.map((c) => ({
      id: c.id,
      step: c.step,
      epoch: c.epoch,
      createdAt: c.createdAt.toISOString(),
      metrics: c.metrics,
    })),
  });
});
