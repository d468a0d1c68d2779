import { Prisma } from '@prisma/client';
import { getPrisma, type TDb } from './client';

/**
 * The chat gateway's request log: one RequestLog row per request (its id is the request id), opened on acceptance
 * and completed when the request ends. Charging is @crucible/billing's (chargeInference).
 */

export type TInferenceRecord = {
  requestId: string;
  workspaceId: string;
  model: string;
  /** FineTunedModel or BaseModel id. */
  modelId?: string;
  deploymentId?: string | null;
  apiKeyId?: string | null;
  userId?: string | null;
  endpoint: string;
  statusCode: number;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  latencyMs?: number | null;
  timeToFirstTokenMs?: number | null;
  /** How it ended (default completed). */
  status?: 'completed' | 'cancelled' | 'failed';
  finishReason?: string | null;
  errorCode?: string | null;
};

export type TAcceptedRequest = Pick<
  TInferenceRecord,
  'requestId' | 'workspaceId' | 'model' | 'deploymentId' | 'apiKeyId' | 'userId' | 'endpoint' | 'stream'
>;

/**
 * The RequestLog row of a request the gateway has accepted, before any work is done (status accepted, statusCode
 * 0): a request whose client goes away, or whose worker dies, is still in the log (issue 11, finding 5).
 * completeRequestLog completes it.
 */
export async function openRequestLog(r: TAcceptedRequest, db: TDb = getPrisma()): Promise<void> {
  await db.requestLog.create({
    data: {
      id: r.requestId,
      workspaceId: r.workspaceId,
      deploymentId: r.deploymentId ?? null,
      model: r.model,
      apiKeyId: r.apiKeyId ?? null,
      userId: r.userId ?? null,
      endpoint: r.endpoint,
      statusCode: 0,
      status: 'accepted',
      stream: r.stream,
    },
  });
}

/**
 * Completes the RequestLog row of a request (creating it when openRequestLog did not); safe to call twice. The
 * request's charge is @crucible/billing's chargeInference (the one price code), keyed by the same request id.
 */
export async function completeRequestLog(r: TInferenceRecord, db: TDb = getPrisma()): Promise<void> {
  const outcome = {
    statusCode: r.statusCode,
    status: r.status ?? 'completed',
    finishReason: r.finishReason ?? null,
    errorCode: r.errorCode ?? null,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    latencyMs: r.latencyMs ?? null,
    timeToFirstTokenMs: r.timeToFirstTokenMs ?? null,
  };
  await db.requestLog.upsert({
    where: { id: r.requestId },
    create: {
      id: r.requestId,
      workspaceId: r.workspaceId,
      deploymentId: r.deploymentId ?? null,
      model: r.model,
      apiKeyId: r.apiKeyId ?? null,
      userId: r.userId ?? null,
      endpoint: r.endpoint,
      stream: r.stream,
      ...outcome,
    },
    update: outcome,
  });
}

export type TDeploymentStats = {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  p50Ms: number | null;
  p95Ms: number | null;
};

/** Requests, tokens and latency percentiles of deployments (whole history, or since `from`). */
export async function deploymentStats(
  deploymentIds: string[],
  range: { from?: Date; to?: Date } = {},
  db: TDb = getPrisma(),
): Promise<Map<string, TDeploymentStats>> {
  const out = new Map<string, TDeploymentStats>();
  if (deploymentIds.length === 0) return out;
  const rows = await db.$queryRaw<
    {
      id: string;
      requests: bigint;
      prompt: bigint | null;
      completion: bigint | null;
      p50: number | null;
      p95: number | null;
    }[]
  >`SELECT "deploymentId" AS id, count(*) AS requests, sum("promptTokens") AS prompt, sum("completionTokens") AS completion,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY "latencyMs") AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY "latencyMs") AS p95
    FROM request_log WHERE "deploymentId" IN (${Prisma.join(deploymentIds)})
      AND "createdAt" >= ${range.from ?? new Date(0)} AND "createdAt" < ${range.to ?? new Date('9999-01-01T00:00:00Z')}
    GROUP BY "deploymentId"`;
  for (const r of rows) {
    out.set(r.id, {
      requests: Number(r.requests),
      promptTokens: Number(r.prompt ?? 0),
      completionTokens: Number(r.completion ?? 0),
      p50Ms: r.p50 === null ? null : Math.round(r.p50),
      p95Ms: r.p95 === null ? null : Math.round(r.p95),
    });
  }
  return out;
}

export type TMetricBucket = {
  bucket: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  p50Ms: number | null;
  p95Ms: number | null;
};

/** Per-minute or per-hour series of one deployment's requests in [from, to). */
export async function deploymentMetrics(
  deploymentId: string,
  range: { from: Date; to: Date; unit: 'minute' | 'hour' },
  db: TDb = getPrisma(),
): Promise<TMetricBucket[]> {
  const rows = await db.$queryRaw<
    {
      bucket: Date;
      requests: bigint;
      prompt: bigint | null;
      completion: bigint | null;
      p50: number | null;
      p95: number | null;
    }[]
  >`SELECT date_trunc(${range.unit}, "createdAt") AS bucket, count(*) AS requests, sum("promptTokens") AS prompt,
      sum("completionTokens") AS completion,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY "latencyMs") AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY "latencyMs") AS p95
    FROM request_log WHERE "deploymentId" = ${deploymentId} AND "createdAt" >= ${range.from} AND "createdAt" < ${range.to}
    GROUP BY 1 ORDER BY 1`;
  return rows.map((r) => ({
    bucket: r.bucket.toISOString(),
    requests: Number(r.requests),
    promptTokens: Number(r.prompt ?? 0),
    completionTokens: Number(r.completion ?? 0),
    p50Ms: r.p50 === null ? null : Math.round(r.p50),
    p95Ms: r.p95 === null ? null : Math.round(r.p95),
  }));
}
