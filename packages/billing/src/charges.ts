/**
 * Charging: each function turns one billable event into one ledger line (or two for a request's input and output
 * tokens) through appendUsage, keyed so a retry, a redelivery or a re-sent request charges once. The line stores
 * its unit price and amount: a later price change never rewrites it.
 */
import { appendUsage, getPrisma, type Prisma, type TDb } from '@crucible/db';
import { chargedDeploymentKeys, findAccruingDeployments, storageBytesByWorkspace } from '@crucible/db/billing';
import { amountFor, dec, resolvePrice, type TDecimalLike } from './prices';

/** The estimate of a training job: tokens × epochs at the price in force now (the same code charges the steps). */
export async function estimateTrainingCost(
  q: { workspaceId: string; baseModel: string | null; method: string | null; tokens: TDecimalLike; epochs: number },
  db: TDb = getPrisma(),
) {
  const price = await resolvePrice(
    { workspaceId: q.workspaceId, meter: 'training_tokens', modelRef: q.baseModel, method: q.method },
    db,
  );
  const trainedTokens = dec(q.tokens).mul(q.epochs);
  const { quantity, amount } = amountFor(trainedTokens, price);
  return {
    trainedTokens,
    quantity,
    amount,
    currency: price.currency,
    unit: price.unit,
    unitPrice: price.unitPrice,
    priceItemId: price.priceItemId,
  };
}

/**
 * Charges trained tokens of one window of a job's steps (already counted over epochs). Key: the caller names the
 * event, e.g. `training:{jobId}:step:{step}`. A cancelled or failed job has paid for every window it reported.
 */
export async function chargeTraining(
  e: {
    workspaceId: string;
    jobId: string;
    baseModel: string | null;
    method: string | null;
    tokens: TDecimalLike;
    idempotencyKey: string;
    occurredAt?: Date;
    userId?: string | null;
    modelId?: string | null;
    description?: string;
    metadata?: Record<string, unknown>;
  },
  db: TDb = getPrisma(),
) {
  const at = e.occurredAt ?? new Date();
  const price = await resolvePrice(
    { workspaceId: e.workspaceId, meter: 'training_tokens', modelRef: e.baseModel, method: e.method, at },
    db,
  );
  const { quantity, amount } = amountFor(e.tokens, price);
  return appendUsage(
    {
      workspaceId: e.workspaceId,
      category: 'training',
      meter: 'training_tokens',
      quantity,
      unit: price.unit,
      unitPrice: price.unitPrice,
      amount,
      currency: price.currency,
      idempotencyKey: e.idempotencyKey,
      priceItemId: price.priceItemId,
      jobId: e.jobId,
      modelId: e.modelId ?? e.baseModel ?? undefined,
      userId: e.userId ?? undefined,
      description: e.description,
      metadata: { tokens: dec(e.tokens).toString(), baseModel: e.baseModel, method: e.method, ...e.metadata },
      occurredAt: at,
    },
    db,
  );
}

/**
 * Charges one inference request: an input-token line and an output-token line, keyed
 * `inference:{requestId}:input|output` (a meter with no tokens writes no line). `model` is the served name prices
 * are quoted for; `modelId` the row (fine-tuned or base model) the line is reported under.
 */
export async function chargeInference(
  e: {
    workspaceId: string;
    requestId: string;
    model: string;
    modelId?: string | null;
    inputTokens: number;
    outputTokens: number;
    deploymentId?: string | null;
    apiKeyId?: string | null;
    userId?: string | null;
    occurredAt?: Date;
  },
  db: TDb = getPrisma(),
) {
  const at = e.occurredAt ?? new Date();
  const lines = [];
  for (const [meter, tokens, suffix, what] of [
    ['input_tokens', e.inputTokens, 'input', 'prompt'],
    ['output_tokens', e.outputTokens, 'output', 'completion'],
  ] as const) {
    if (tokens <= 0) continue;
    const price = await resolvePrice({ workspaceId: e.workspaceId, meter, modelRef: e.model, at }, db);
    const { quantity, amount } = amountFor(tokens, price);
    lines.push(
      await appendUsage(
        {
          workspaceId: e.workspaceId,
          category: 'inference',
          meter,
          quantity,
          unit: price.unit,
          unitPrice: price.unitPrice,
          amount,
          currency: price.currency,
          idempotencyKey: `inference:${e.requestId}:${suffix}`,
          priceItemId: price.priceItemId,
          deploymentId: e.deploymentId ?? undefined,
          modelId: e.modelId ?? e.model,
          apiKeyId: e.apiKeyId ?? undefined,
          userId: e.userId ?? undefined,
          description: `${tokens} ${what} tokens, ${e.model}`,
          metadata: { requestId: e.requestId, tokens },
          occurredAt: at,
        },
        db,
      ),
    );
  }
  return lines;
}

const HOUR_MS = 3_600_000;

/** Hours started between `startedAt` and `end`: a deployment up for 1 h 01 min pays 2 hours. */
export function startedHours(startedAt: Date, end: Date): number {
  const ms = end.getTime() - startedAt.getTime();
  return ms <= 0 ? 0 : Math.ceil(ms / HOUR_MS);
}

/**
 * Charges every running deployment (and every one stopped in the last 2 days, for its last hours) per started hour:
 * hour n of a run (from startedAt + n h) is one line with key `deployment:{id}:{run start, unix s}:{n}` at the price in
 * force when that hour began,
 * quantity = replicas hours. Safe to run as often as you like; meant for a repeatable BullMQ job in the serving
 * worker, e.g. every 5 minutes:
 *   queue.add('billing.accrue-deployments', {}, { repeat: { every: 300_000 }, jobId: 'billing-accrue' })
 *   // processor: await accrueDeploymentHours(new Date())
 */
export async function accrueDeploymentHours(now: Date = new Date(), db: TDb = getPrisma()) {
  const deployments = await findAccruingDeployments(new Date(now.getTime() - 48 * HOUR_MS), db);
  let charged = 0;
  let amount: Prisma.Decimal = dec(0);
  for (const d of deployments) {
    if (!d.startedAt) continue;
    const end = d.status !== 'running' && d.stoppedAt && d.stoppedAt < now ? d.stoppedAt : now;
    const hours = startedHours(d.startedAt, end);
    if (hours === 0) continue;
    const done = await chargedDeploymentKeys(d.id, db);
    for (let n = 0; n < hours; n++) {
      // Keyed by the run (its start) as well as the hour: a restarted deployment's hour 0 is a new hour, not the
      // first run's hour 0 again.
      const idempotencyKey = `deployment:${d.id}:${Math.floor(d.startedAt.getTime() / 1000)}:${n}`;
      if (done.has(idempotencyKey)) continue;
      const at = new Date(d.startedAt.getTime() + n * HOUR_MS);
      const price = await resolvePrice(
        { workspaceId: d.workspaceId, meter: 'deployment_hours', workerClass: d.workerClass, at },
        db,
      );
      const line = amountFor(d.replicas, price);
      const { created, record } = await appendUsage(
        {
          workspaceId: d.workspaceId,
          category: 'deployment',
          meter: 'deployment_hours',
          quantity: line.quantity,
          unit: price.unit,
          unitPrice: price.unitPrice,
          amount: line.amount,
          currency: price.currency,
          idempotencyKey,
          priceItemId: price.priceItemId,
          deploymentId: d.id,
          modelId: d.fineTunedModelId ?? d.baseModelId ?? undefined,
          userId: d.createdById ?? undefined,
          metadata: { hourIndex: n, workerClass: d.workerClass, replicas: d.replicas },
          occurredAt: at,
        },
        db,
      );
      if (created) {
        charged += 1;
        amount = amount.add(record.amount);
      }
    }
  }
  return { deployments: deployments.length, linesCreated: charged, amount };
}

const GB = 1_000_000_000n;

/**
 * Storage per GB-month, accrued per UTC day: each workspace's stored bytes (dataset versions, its base models) at
 * the first run of a day are charged as GB × 1/(days in that month) GB-months, key `storage:{workspaceId}:{day}`.
 * Run it daily or more often (same repeatable job as the deployment hours); a day is charged once.
 */
export async function accrueStorage(now: Date = new Date(), db: TDb = getPrisma()) {
  const day = now.toISOString().slice(0, 10);
  const dayStart = new Date(`${day}T00:00:00.000Z`);
  const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
  const bytes = await storageBytesByWorkspace(db);
  let linesCreated = 0;
  for (const [workspaceId, b] of bytes) {
    if (b <= 0n) continue;
    const gbMonths = dec(b).div(GB.toString()).div(daysInMonth);
    const price = await resolvePrice({ workspaceId, meter: 'storage_gb_months', at: dayStart }, db);
    const { quantity, amount } = amountFor(gbMonths, price);
    const { created } = await appendUsage(
      {
        workspaceId,
        category: 'storage',
        meter: 'storage_gb_months',
        quantity,
        unit: price.unit,
        unitPrice: price.unitPrice,
        amount,
        currency: price.currency,
        idempotencyKey: `storage:${workspaceId}:${day}`,
        priceItemId: price.priceItemId,
        metadata: { bytes: b.toString(), day, daysInMonth },
        occurredAt: dayStart,
      },
      db,
    );
    if (created) linesCreated += 1;
  }
  return { workspaces: bytes.size, linesCreated };
}
