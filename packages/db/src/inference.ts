import { Prisma } from '@prisma/client';
import { findPriceItem } from './billing';
import { getPrisma, type TDb } from './client';
import { appendUsage } from './usage';

/**
 * Inference metering for the chat gateway: one RequestLog row per request (its id is the request id) and two usage
 * ledger lines, input and output tokens, keyed `inference:{requestId}:input|output` so a request is charged exactly
 * once whatever retries happen. Prices come from the newest effective price list (workspace over instance) with
 * category inference and meter input_tokens / output_tokens; without one the line is recorded at price 0.
 */

export const DEFAULT_INFERENCE_CURRENCY = 'USD';

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
 * recordInference completes it.
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

// The one price rule (workspace override over instance list, latest effectiveFrom, most specific item; defaults
// seeded on a fresh instance) lives in ./billing, shared with training and @crucible/billing: never a second copy.
function priceFor(workspaceId: string, meter: string, model: string, db: TDb) {
  return findPriceItem({ workspaceId, category: 'inference', meter, modelRef: model }, db);
}

function amountOf(tokens: number, unit: string, unitPrice: Prisma.Decimal) {
  const per = unit === '1K tokens' ? 1000 : unit === '1M tokens' ? 1_000_000 : 1;
  const quantity = new Prisma.Decimal(tokens).div(per);
  return { quantity, amount: quantity.mul(unitPrice) };
}

/**
 * Completes the RequestLog row (creating it when openRequestLog did not) and writes the two ledger lines; safe to
 * call twice with the same request id (the ledger lines are keyed by it, so a request is charged once).
 */
export async function recordInference(r: TInferenceRecord, db: TDb = getPrisma()): Promise<void> {
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
  for (const [meter, tokens] of [
    ['input_tokens', r.promptTokens],
    ['output_tokens', r.completionTokens],
  ] as const) {
    if (tokens <= 0) continue;
    const price = await priceFor(r.workspaceId, meter, r.model, db);
    const unit = price?.unit ?? '1K tokens';
    const unitPrice = price?.unitPrice ?? new Prisma.Decimal(0);
    const { quantity, amount } = amountOf(tokens, unit, unitPrice);
    await appendUsage(
      {
        workspaceId: r.workspaceId,
        category: 'inference',
        meter,
        quantity,
        unit,
        unitPrice,
        amount,
        currency: price?.priceList.currency ?? DEFAULT_INFERENCE_CURRENCY,
        idempotencyKey: `inference:${r.requestId}:${meter === 'input_tokens' ? 'input' : 'output'}`,
        priceItemId: price?.id,
        deploymentId: r.deploymentId ?? undefined,
        modelId: r.modelId,
        apiKeyId: r.apiKeyId ?? undefined,
        userId: r.userId ?? undefined,
        description: `${tokens} ${meter === 'input_tokens' ? 'prompt' : 'completion'} tokens, ${r.model}`,
        metadata: { requestId: r.requestId, tokens },
      },
      db,
    );
  }
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
