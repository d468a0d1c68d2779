import { deploymentMetrics, deploymentStats, getPrisma, isUniqueViolation, type TDeploymentStats } from '@crucible/db';
import { deploymentActionJob, enqueue } from '@crucible/jobs';
import { z } from 'zod';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import { AppError } from '../errors';
import { listWorkspaceModels } from '../gateway/models';
import { json, readBody, route } from '../http';
import { requireWithinBudget } from './billing-guard';

/**
 * Dedicated deployments (REST for the deployments page): list with stats, create (enqueues `deployment.action`
 * start on the `deployments` queue; a serving worker loads, health-checks and marks it running), detail, stop,
 * restart, metrics per minute/hour, delete (stopped or failed only). Every query is scoped by workspaceId.
 */

export const ZCreateDeployment = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, dots, dashes and underscores'),
  modelId: z.string().min(1),
  modelKind: z.enum(['base', 'fine_tuned']),
  replicas: z.number().int().min(1).max(16).optional(),
  contextSize: z.number().int().min(128).max(131_072).optional(),
});

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
  // A deployment is billed by the minute while it runs: none starts once a hard budget limit is reached.
  await requireWithinBudget(ctx.workspace.id);
  const body = await readBody(req, ZCreateDeployment);
  const db = getPrisma();
  const ws = ctx.workspace.id;
  if (body.modelKind === 'fine_tuned') {
    const m = await db.fineTunedModel.findFirst({ where: { id: body.modelId, workspaceId: ws, deletedAt: null } });
    if (!m) throw new AppError('not_found', 'No such fine-tuned model.', 'modelId');
    // A LoRA fine-tune is served as its adapter on its base; a full fine-tune as its own weights.
    if (!m.ggufAdapterObjectKey && !m.adapterObjectKey && !m.mergedObjectKey) {
      throw new AppError('invalid_request', 'This model has neither an adapter nor weights stored.', 'modelId');
    }
  } else {
    const b = await db.baseModel.findFirst({
      where: { id: body.modelId, OR: [{ workspaceId: ws }, { workspaceId: null }] },
    });
    if (!b) throw new AppError('not_found', 'No such base model.', 'modelId');
  }
  let row: { id: string };
  try {
    row = await db.deployment.create({
      data: {
        workspaceId: ws,
        name: body.name,
        fineTunedModelId: body.modelKind === 'fine_tuned' ? body.modelId : null,
        baseModelId: body.modelKind === 'base' ? body.modelId : null,
        replicas: body.replicas ?? 1,
        contextSize: body.contextSize ?? 4096,
        workerClass: 'cpu',
        status: 'deploying',
        createdById: ctx.user?.id ?? null,
      },
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new AppError('conflict', `A deployment named "${body.name}" already exists.`, 'name');
    throw error;
  }
  await enqueue(deploymentActionJob, { deploymentId: row.id, action: 'start' });
  await audit(req, actorOf(ctx), 'deployment.create', { type: 'deployment', id: row.id }, { name: body.name });
  return json(await one(ws, row.id), { status: 201 });
});

async function act(req: Request, slug: string, deploymentId: string, action: 'stop' | 'restart') {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  // Stopping always works (it ends the charges); restarting starts billing again, so it is refused over budget.
  if (action === 'restart') await requireWithinBudget(workspace.id);
  const db = getPrisma();
  const row = await db.deployment.findFirst({ where: { id: deploymentId, workspaceId: workspace.id } });
  if (!row) throw new AppError('not_found', 'No such deployment.');
  if (action === 'stop' && row.status === 'stopped') return json(await one(workspace.id, row.id));
  if (action === 'restart') {
    await db.deployment.update({
      where: { id: row.id },
      data: { status: 'deploying', errorCode: null, errorMessage: null, stoppedAt: null },
    });
  }
  await enqueue(deploymentActionJob, { deploymentId: row.id, action });
  return json(await one(workspace.id, row.id), { status: 202 });
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
