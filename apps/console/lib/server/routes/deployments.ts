import { deploymentMetrics, deploymentStats, getPrisma, type TDeploymentStats } from '@crucible/db';
import { createDeployment as createDeploymentOp, deploymentAction } from '@crucible/services';
import { z } from 'zod';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import { AppError } from '../errors';
import { listWorkspaceModels } from '../gateway/models';
import { json, readJson, route } from '../http';

/**
 * Dedicated deployments (REST for the deployments page): list with stats, create, stop and restart (the operations of
 * @crucible/services: budget, checks, `deployment.action` on the `deployments` queue; a serving worker loads,
 * health-checks and marks it running), detail, metrics per minute/hour, delete (stopped or failed only). Every
 * query is scoped by workspaceId.
 */

export { ZCreateDeployment } from '@crucible/services';

const INCLUDE = {
  fineTunedModel: { select: { id: true, name: true, displayName: true } },
  baseModel: { select: { id: true, name: true, displayName: true } },
  replicaRows: {
    orderBy: { index: 'asc' },
    select: {
      index: true,
      workerId: true,
      status: true,
      startedAt: true,
      lastHealthAt: true,
      healthFailures: true,
      errorCode: true,
      errorMessage: true,
    },
  },
} as const;

type TRow = Awaited<ReturnType<typeof findRows>>[number];
const findRows = (workspaceId: string, id?: string) =>
  getPrisma().deployment.findMany({
    where: { workspaceId, ...(id ? { id } : {}) },
    include: INCLUDE,
    orderBy: { createdAt: 'desc' },
    take: 100,
  });

const EMPTY: TDeploymentStats = { requests: 0, promptTokens: 0, completionTokens: 0, p50Ms: null, p95Ms: null };

function shape(d: TRow, stats: TDeploymentStats | undefined) {
  const model = d.fineTunedModel
    ? {
        id: d.fineTunedModel.id,
        kind: 'fine_tuned' as const,
        name: d.fineTunedModel.displayName ?? d.fineTunedModel.name,
        openaiId: d.fineTunedModel.name,
      }
    : d.baseModel
      ? {
          id: d.baseModel.id,
          kind: 'base' as const,
          name: d.baseModel.displayName ?? d.baseModel.name,
          openaiId: d.baseModel.name,
        }
      : null;
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    model,
    replicas: d.replicas,
    /** replicas ready to serve (fewer than `replicas` = degraded: it serves, on fewer sequences) */
    readyReplicas: d.replicaRows.filter((r) => r.status === 'ready').length,
    replicaList: d.replicaRows.map((r) => ({
      index: r.index,
      workerId: r.workerId,
      status: r.status,
      startedAt: r.startedAt?.toISOString() ?? null,
      lastHealthAt: r.lastHealthAt?.toISOString() ?? null,
      healthFailures: r.healthFailures,
      error: r.errorCode ? { code: r.errorCode, message: r.errorMessage } : null,
    })),
    contextSize: d.contextSize,
    /** Request logs (issue 16): whether its chats are kept, and for how many days. */
    logRequests: d.logRequests,
    logRetentionDays: d.logRetentionDays,
    workerId: d.workerId,
    startedAt: d.startedAt?.toISOString() ?? null,
    stoppedAt: d.stoppedAt?.toISOString() ?? null,
    error: d.errorCode ? { code: d.errorCode, message: d.errorMessage } : null,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    stats: stats ?? EMPTY,
  };
}

async function one(workspaceId: string, id: string) {
  const [row] = await findRows(workspaceId, id);
  if (!row) throw new AppError('not_found', 'No such deployment.');
  const stats = await deploymentStats([row.id]);
  return shape(row, stats.get(row.id));
}

export const listDeployments = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const rows = await findRows(workspace.id);
  const stats = await deploymentStats(rows.map((r) => r.id));
  return json({ data: rows.map((r) => shape(r, stats.get(r.id))) });
});

export const getDeployment = route(async (req, { slug, deploymentId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  return json(await one(workspace.id, deploymentId));
});

export const createDeployment = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  // The operation checks the budget before it validates the body: over a hard limit the answer is 402.
  const body = (await readJson(req)) ?? {};
  const { id, name } = await createDeploymentOp(ctx.workspace.id, body, { userId: ctx.user?.id ?? null, via: 'api' });
  await audit(req, actorOf(ctx), 'deployment.create', { type: 'deployment', id }, { name });
  return json(await one(ctx.workspace.id, id), { status: 201 });
});

async function act(req: Request, slug: string, deploymentId: string, action: 'stop' | 'restart') {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  const { id, enqueued } = await deploymentAction(workspace.id, deploymentId, action);
  return json(await one(workspace.id, id), { status: enqueued ? 202 : 200 });
}

export const stopDeployment = route(async (req, { slug, deploymentId }) => act(req, slug, deploymentId, 'stop'));
export const restartDeployment = route(async (req, { slug, deploymentId }) => act(req, slug, deploymentId, 'restart'));

export const deleteDeployment = route(async (req, { slug, deploymentId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  const db = getPrisma();
  const row = await db.deployment.findFirst({ where: { id: deploymentId, workspaceId: workspace.id } });
  if (!row) throw new AppError('not_found', 'No such deployment.');
  if (row.status !== 'stopped' && row.status !== 'failed') {
    throw new AppError('conflict', 'Stop the deployment before deleting it.');
  }
  await db.deployment.delete({ where: { id: row.id } });
  return new Response(null, { status: 204 });
});

const ZMetricsQuery = z.object({
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  unit: z.enum(['minute', 'hour']).optional(),
});

export const getDeploymentMetrics = route(async (req, { slug, deploymentId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await getPrisma().deployment.findFirst({ where: { id: deploymentId, workspaceId: workspace.id } });
  if (!row) throw new AppError('not_found', 'No such deployment.');
  const q = ZMetricsQuery.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!q.success) throw new AppError('invalid_request', 'from and to must be dates (ISO 8601).', 'from');
  const to = q.data.to ?? new Date();
  const from = q.data.from ?? new Date(to.getTime() - 60 * 60 * 1000);
  if (from >= to) throw new AppError('invalid_request', 'from must be before to.', 'from');
  // Minutes for up to 6 hours, hours beyond (a chart of at most a few hundred points).
  const unit = q.data.unit ?? (to.getTime() - from.getTime() <= 6 * 3600_000 ? 'minute' : 'hour');
  return json({
    data: await deploymentMetrics(row.id, { from, to, unit }),
    unit,
    from: from.toISOString(),
    to: to.toISOString(),
  });
});

/** The playground's model picker: every model the workspace can chat with, by its OpenAI id. */
export const listChatModels = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const models = await listWorkspaceModels(workspace.id);
  return json({
    data: models.map((m) => ({
      id: m.openaiId,
      modelId: m.id,
      name: m.name,
      kind: m.kind,
      deployed: m.deployed,
      base: m.baseOpenaiId ?? null,
    })),
  });
});
