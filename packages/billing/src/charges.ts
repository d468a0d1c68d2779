/**
 * Charging: each function turns one billable event into one ledger line (or two for a request's input and output
 * tokens) through appendUsage, keyed so a retry, a redelivery or a re-sent request charges once. The line stores
 * its unit price and amount: a later price change never rewrites it.
 */
import { appendUsage, getPrisma, type Prisma, type TDb } from '@crucible/db';
import {
  ACCRUAL_DEPLOYMENT_SELECT,
  chargedDeploymentKeys,
  findAccruingDeployments,
  storageBytesByWorkspace,
} from '@crucible/db/billing';
import { assertWithinBudget } from './budgets';
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
 * What the gateway asks before it accepts a request for `model`: both of its meters have a price in force (else
 * BillingError `no_price`, naming the meter and where to add one) and the workspace is within a hard budget (else
 * `budget_exceeded`). The charge after the answer then cannot fail for want of a price: a request is refused
 * rather than served unbilled.
 */
export async function assertInferenceChargeable(
  e: { workspaceId: string; model: string; at?: Date },
  db: TDb = getPrisma(),
): Promise<void> {
  const at = e.at ?? new Date();
  for (const meter of ['input_tokens', 'output_tokens'] as const) {
    await resolvePrice({ workspaceId: e.workspaceId, meter, modelRef: e.model, at }, db);
  }
  await assertWithinBudget(e.workspaceId, at, db);
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
    /** What the tokens were for, beside the request id (an evaluation: `{evaluationId}`). */
    metadata?: Record<string, unknown>;
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
          metadata: { ...e.metadata, requestId: e.requestId, tokens },
          occurredAt: at,
        },
        db,
      ),
    );
  }
  return lines;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/**
 * The hours of a deployment run up to `end`, as billed: every complete hour is 1; the last, partial hour counts its
 * started minutes / 60 once the run is over, and nothing yet while it is still running (it is charged when it
 * completes). The price is per hour, billed by the minute: a deployment stopped 1 minute after it started pays
 * 1/60 of an hour, not a whole hour (issue 13, item 10).
 */
export function billedHours(startedAt: Date, end: Date, runOver: boolean): { index: number; minutes: number }[] {
  const ms = end.getTime() - startedAt.getTime();
  if (ms <= 0) return [];
  const full = Math.floor(ms / HOUR_MS);
  const hours = Array.from({ length: full }, (_, index) => ({ index, minutes: 60 }));
  const rest = ms - full * HOUR_MS;
  if (runOver && rest > 0) hours.push({ index: full, minutes: Math.ceil(rest / MINUTE_MS) });
  return hours;
}

type TAccruingDeployment = Awaited<ReturnType<typeof findAccruingDeployments>>[number];

/**
 * Charges one run of a deployment up to `end`: hour n of the run (from startedAt + n h) is one line with key
 * `deployment:{id}:{run start, unix s}:{n}` at the price in force when that hour began, quantity = replicas × the
 * hour's billed minutes / 60 (unit "hour"). Keys make it idempotent; a partial hour is only charged once the run is
 * over (`runOver`), so its line never has to grow.
 */
async function chargeDeploymentRun(d: TAccruingDeployment, end: Date, runOver: boolean, db: TDb) {
  let charged = 0;
  let amount: Prisma.Decimal = dec(0);
  if (!d.startedAt) return { charged, amount };
  const hours = billedHours(d.startedAt, end, runOver);
  if (hours.length === 0) return { charged, amount };
  const done = await chargedDeploymentKeys(d.id, db);
  for (const { index: n, minutes } of hours) {
    // Keyed by the run (its start) as well as the hour: a restarted deployment's hour 0 is a new hour, not the
    // first run's hour 0 again.
    const idempotencyKey = `deployment:${d.id}:${Math.floor(d.startedAt.getTime() / 1000)}:${n}`;
    if (done.has(idempotencyKey)) continue;
    const at = new Date(d.startedAt.getTime() + n * HOUR_MS);
    const price = await resolvePrice(
      { workspaceId: d.workspaceId, meter: 'deployment_hours', workerClass: d.workerClass, at },
      db,
    );
    const line = amountFor(dec(d.replicas).mul(minutes).div(60), price);
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
        metadata: { hourIndex: n, minutes, workerClass: d.workerClass, replicas: d.replicas },
        occurredAt: at,
      },
      db,
    );
    if (created) {
      charged += 1;
      amount = amount.add(record.amount);
    }
  }
  return { charged, amount };
}

/**
 * Charges every running deployment's complete hours, and every one stopped in the last 2 days for its last hours
 * (the partial one by the minute). Safe to run as often as you like; the housekeeping worker's repeatable
 * `billing.accrue` job calls it every BILLING_ACCRUE_EVERY_MS (workers/housekeeping/src/billing-accrual.ts).
 */
export async function accrueDeploymentHours(now: Date = new Date(), db: TDb = getPrisma()) {
  const deployments = await findAccruingDeployments(new Date(now.getTime() - 48 * HOUR_MS), db);
  let charged = 0;
  let amount: Prisma.Decimal = dec(0);
  for (const d of deployments) {
    const over = d.status !== 'running' && d.stoppedAt !== null && d.stoppedAt < now;
    const r = await chargeDeploymentRun(d, over && d.stoppedAt ? d.stoppedAt : now, over, db);
    charged += r.charged;
    amount = amount.add(r.amount);
  }
  return { deployments: deployments.length, linesCreated: charged, amount };
}

/**
 * Ends a deployment's current run for billing at `end`: charges its hours, the partial last one by the minute. Call
 * it where a run ends — stop, and a restart that resets `startedAt` — before the run's start is forgotten.
 */
export async function settleDeploymentRun(deploymentId: string, end: Date = new Date(), db: TDb = getPrisma()) {
  const d = await db.deployment.findUnique({
    where: { id: deploymentId },
    select: ACCRUAL_DEPLOYMENT_SELECT,
  });
  if (!d?.startedAt) return { linesCreated: 0, amount: dec(0) };
  const r = await chargeDeploymentRun(d, d.stoppedAt && d.stoppedAt < end ? d.stoppedAt : end, true, db);
  return { linesCreated: r.charged, amount: r.amount };
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
