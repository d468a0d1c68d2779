import { DEFAULT_LOG_RETENTION_DAYS, getPrisma, type Prisma, storeRequestContent } from '@crucible/db';
import { z } from 'zod';
import { ZAddLogsToDataset, ZDeploymentLogging, ZRateLog } from '../../schemas';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import { addedToDatasetResponse } from '../datasets/feedback';
import { AppError, fromZodError } from '../errors';
import { json, readBody, route } from '../http';
import { addLogsToDataset } from '../request-logs/feedback';
import { findLog, messagesOf, metadataOf, type TLogRow } from '../request-logs/logs';

// The Logs page (issue 16): a workspace's kept requests — search, filters, pages, detail, thumbs, delete — and
// "add to dataset". A deployment's request-log setting is set here too. Every query names the workspace.

const PREVIEW = 240;
const clip = (s: string) => (s.length > PREVIEW ? `${s.slice(0, PREVIEW)}…` : s);

const ZLogQuery = z.object({
  q: z.string().trim().max(500).optional(),
  model: z.string().min(1).optional(),
  deploymentId: z.string().min(1).optional(),
  source: z.enum(['deployment', 'store', 'playground']).optional(),
  rating: z.enum(['up', 'down', 'none']).optional(),
  finishReason: z.enum(['stop', 'length', 'none']).optional(),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  minLatencyMs: z.coerce.number().int().min(0).optional(),
  maxLatencyMs: z.coerce.number().int().min(0).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

function whereOf(workspaceId: string, f: z.infer<typeof ZLogQuery>): Prisma.RequestLogContentWhereInput {
  const request: Prisma.RequestLogWhereInput = {};
  if (f.model) request.model = f.model;
  if (f.deploymentId) request.deploymentId = f.deploymentId;
  if (f.finishReason) request.finishReason = f.finishReason === 'none' ? null : f.finishReason;
  if (f.from || f.to) request.createdAt = { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) };
  if (f.minLatencyMs !== undefined || f.maxLatencyMs !== undefined) {
    request.latencyMs = {
      ...(f.minLatencyMs !== undefined ? { gte: f.minLatencyMs } : {}),
      ...(f.maxLatencyMs !== undefined ? { lte: f.maxLatencyMs } : {}),
    };
  }
  return {
    workspaceId,
    ...(f.q ? { searchText: { contains: f.q, mode: 'insensitive' } } : {}),
    ...(f.source ? { source: f.source } : {}),
    ...(f.rating ? { rating: f.rating === 'none' ? null : f.rating } : {}),
    request,
  };
}

async function deploymentNames(workspaceId: string, ids: (string | null)[]) {
  const wanted = [...new Set(ids.filter((x): x is string => !!x))];
  if (wanted.length === 0) return new Map<string, string>();
  const rows = await getPrisma().deployment.findMany({
    where: { workspaceId, id: { in: wanted } },
    select: { id: true, name: true },
  });
  return new Map(rows.map((d) => [d.id, d.name]));
}

function summary(row: TLogRow, names: Map<string, string>) {
  const r = row.request;
  const messages = messagesOf(row);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  return {
    id: row.requestId,
    createdAt: r.createdAt.toISOString(),
    model: r.model,
    deployment: r.deploymentId ? { id: r.deploymentId, name: names.get(r.deploymentId) ?? null } : null,
    source: row.source,
    status: r.status,
    finishReason: r.finishReason,
    errorCode: r.errorCode,
    latencyMs: r.latencyMs,
    timeToFirstTokenMs: r.timeToFirstTokenMs,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    rating: row.rating,
    prompt: clip(lastUser?.content ?? ''),
    answer: clip(row.answer),
  };
}

export const listRequestLogs = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const parsed = ZLogQuery.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!parsed.success) throw fromZodError(parsed.error);
  const f = parsed.data;
  const where = whereOf(workspace.id, f);
  const db = getPrisma();
  const [rows, total, models] = await Promise.all([
    db.requestLogContent.findMany({
      where,
      include: { request: true },
      orderBy: [{ request: { createdAt: 'desc' } }, { requestId: 'desc' }],
      skip: f.offset,
      take: f.limit,
    }),
    db.requestLogContent.count({ where }),
    db.requestLog.findMany({
      where: { workspaceId: workspace.id, content: { isNot: null } },
      distinct: ['model'],
      select: { model: true },
      orderBy: { model: 'asc' },
      take: 200,
    }),
  ]);
  const names = await deploymentNames(
    workspace.id,
    rows.map((r) => r.request.deploymentId),
  );
  return json({
    data: rows.map((r) => summary(r, names)),
    total,
    offset: f.offset,
    limit: f.limit,
    models: models.map((m) => m.model),
  });
});

async function requireLog(workspaceId: string, logId: string) {
  const row = await findLog(workspaceId, logId);
  if (!row) throw new AppError('not_found', 'No such request log.');
  return row;
}

async function detail(workspaceId: string, row: TLogRow) {
  const names = await deploymentNames(workspaceId, [row.request.deploymentId]);
  return {
    ...summary(row, names),
    prompt: undefined,
    answer: row.answer,
    messages: messagesOf(row),
    metadata: metadataOf(row),
    endpoint: row.request.endpoint,
    stream: row.request.stream,
    ratedAt: row.ratedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt.toISOString(),
  };
}

export const getRequestLog = route(async (req, { slug, logId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  return json(await detail(workspace.id, await requireLog(workspace.id, logId)));
});

/**
 * Thumbs up/down (or none) on a kept request. A playground turn that was not kept (its deployment keeps nothing) is
 * kept now, with the messages and answer the playground sends — only the member's own playground request can be.
 */
export const rateRequestLog = route(async (req, { slug, logId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZRateLog);
  const db = getPrisma();
  const request = await db.requestLog.findFirst({
    where: { id: logId, workspaceId: ctx.workspace.id },
    include: { content: true },
  });
  if (!request) throw new AppError('not_found', 'No such request log.');
  const rated = { rating: body.rating, ratedById: body.rating ? (ctx.user?.id ?? null) : null };
  if (request.content) {
    await db.requestLogContent.update({
      where: { requestId: logId },
      data: { ...rated, ratedAt: body.rating ? new Date() : null },
    });
  } else {
    const ownPlayground =
      request.endpoint === '/v1/chat/completions' && !request.apiKeyId && !!ctx.user && request.userId === ctx.user.id;
    if (!body.turn || !ownPlayground) {
      throw new AppError(
        'conflict',
        'This request was not kept (its deployment does not keep requests), so there is nothing to rate.',
        'turn',
      );
    }
    if (!body.rating) return json({ id: logId, rating: null });
    const deployment = request.deploymentId
      ? await db.deployment.findFirst({ where: { id: request.deploymentId }, select: { logRetentionDays: true } })
      : null;
    await storeRequestContent({
      requestId: logId,
      workspaceId: ctx.workspace.id,
      source: 'playground',
      messages: body.turn.messages,
      answer: body.turn.answer,
      retentionDays: deployment?.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
      ...rated,
    });
  }
  return json(await detail(ctx.workspace.id, await requireLog(ctx.workspace.id, logId)));
});

/** Deletes a kept request's messages and answer; its metering row stays (deployment stats, billing). */
export const deleteRequestLog = route(async (req, { slug, logId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const row = await requireLog(ctx.workspace.id, logId);
  await getPrisma().requestLogContent.delete({ where: { requestId: row.requestId } });
  return json({ id: logId, deleted: true });
});

/** "Add to dataset": a new draft version of a ChatML dataset (existing or new) with the selected chats appended. */
export const addRequestLogsToDataset = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZAddLogsToDataset);
  return addedToDatasetResponse(req, ctx, 'dataset.add_logs', 'logIds', () =>
    addLogsToDataset({ workspaceId: ctx.workspace.id, userId: ctx.user?.id ?? null }, body),
  );
});

/** A deployment's request-log setting: keep its chat requests and answers, and for how many days. */
export const updateDeploymentLogging = route(async (req, { slug, deploymentId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZDeploymentLogging);
  const db = getPrisma();
  const row = await db.deployment.findFirst({ where: { id: deploymentId, workspaceId: ctx.workspace.id } });
  if (!row) throw new AppError('not_found', 'No such deployment.');
  const updated = await db.deployment.update({ where: { id: row.id }, data: body });
  await audit(req, actorOf(ctx), 'deployment.logging', { type: 'deployment', id: row.id }, body);
  return json({ id: updated.id, logRequests: updated.logRequests, logRetentionDays: updated.logRetentionDays });
});
