/**
 * Billing data access (price lists, ledger reads, budgets) for @crucible/billing, which holds the rules (which price
 * applies, how an amount is computed). Ledger writes go through appendUsage (usage.ts) only.
 */
import type { Prisma, UsageCategory } from '@prisma/client';
import { getPrisma, type TDb } from './client';
import { parseRoles } from './workspaces';

/** Every price item for one meter in force at `at`: the workspace's lists and the instance's, all versions. */
export function findPriceCandidates(
  q: { workspaceId: string | null; category: UsageCategory; meter: string; at: Date },
  db: TDb = getPrisma(),
) {
  const owners: Prisma.PriceListWhereInput[] = [{ workspaceId: null }];
  if (q.workspaceId) owners.push({ workspaceId: q.workspaceId });
  return db.priceItem.findMany({
    where: { category: q.category, meter: q.meter, priceList: { effectiveFrom: { lte: q.at }, OR: owners } },
    include: { priceList: true },
  });
}

const pricedKey = (i: { meter: string; method?: string | null }) => `${i.meter}|${i.method ?? ''}`;

/** The (meter, method) pairs the instance (workspaceId null) has any price for: a fresh install has none. */
async function instancePricedKeys(db: TDb = getPrisma()): Promise<Set<string>> {
  const rows = await db.priceItem.findMany({
    where: { priceList: { workspaceId: null } },
    select: { meter: true, method: true },
    distinct: ['meter', 'method'],
  });
  return new Set(rows.map(pricedKey));
}

export type TPriceItemData = {
  category: UsageCategory;
  meter: string;
  unit: string;
  unitPrice: string;
  modelRef?: string | null;
  method?: string | null;
  workerClass?: string | null;
};

/** A new price list with its items. Lists are never edited in place: a price change is a new list from a date. */
export function createPriceList(
  data: {
    workspaceId: string | null;
    name: string;
    currency: string;
    effectiveFrom: Date;
    createdById?: string | null;
    items: TPriceItemData[];
  },
  db: TDb = getPrisma(),
) {
  return db.priceList.create({
    data: {
      workspaceId: data.workspaceId,
      name: data.name,
      currency: data.currency,
      effectiveFrom: data.effectiveFrom,
      createdById: data.createdById ?? null,
      items: { create: data.items.map((i) => ({ ...i, workspaceId: data.workspaceId })) },
    },
    include: { items: true },
  });
}

/** Price lists of the instance (workspaceId null) or of one workspace, newest first. */
export function listPriceLists(workspaceId: string | null, db: TDb = getPrisma()) {
  return db.priceList.findMany({
    where: { workspaceId },
    orderBy: [{ effectiveFrom: 'desc' }, { createdAt: 'desc' }],
    include: { items: { orderBy: [{ category: 'asc' }, { meter: 'asc' }] } },
  });
}

export type TLedgerFilter = {
  workspaceId?: string;
  workspaceIds?: string[];
  from: Date;
  /** exclusive */
  to: Date;
  category?: UsageCategory;
  jobId?: string;
  deploymentId?: string;
  modelId?: string;
  apiKeyId?: string;
  userId?: string;
};

function ledgerWhere(f: TLedgerFilter): Prisma.UsageRecordWhereInput {
  return {
    ...(f.workspaceId ? { workspaceId: f.workspaceId } : {}),
    ...(f.workspaceIds ? { workspaceId: { in: f.workspaceIds } } : {}),
    occurredAt: { gte: f.from, lt: f.to },
    ...(f.category ? { category: f.category } : {}),
    ...(f.jobId ? { jobId: f.jobId } : {}),
    ...(f.deploymentId ? { deploymentId: f.deploymentId } : {}),
    ...(f.modelId ? { modelId: f.modelId } : {}),
    ...(f.apiKeyId ? { apiKeyId: f.apiKeyId } : {}),
    ...(f.userId ? { userId: f.userId } : {}),
  };
}

/** Ledger lines in [from, to), oldest first (a statement reads in time order). */
export function findLedgerLines(f: TLedgerFilter, opts: { take?: number } = {}, db: TDb = getPrisma()) {
  return db.usageRecord.findMany({
    where: ledgerWhere(f),
    orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }],
    ...(opts.take ? { take: opts.take } : {}),
  });
}

/** Sum of amounts per currency in [from, to): what a budget compares against. */
export async function sumLedger(f: TLedgerFilter, db: TDb = getPrisma()) {
  const rows = await db.usageRecord.groupBy({ by: ['currency'], where: ledgerWhere(f), _sum: { amount: true } });
  return rows.map((r) => ({ currency: r.currency, amount: r._sum.amount }));
}

export function getBudgetRow(workspaceId: string, db: TDb = getPrisma()) {
  return db.budget.findUnique({ where: { workspaceId_period: { workspaceId, period: 'monthly' } } });
}

export function upsertBudgetRow(
  workspaceId: string,
  data: { amount: string; currency: string; thresholds: number[]; hardLimit: boolean },
  db: TDb = getPrisma(),
) {
  return db.budget.upsert({
    where: { workspaceId_period: { workspaceId, period: 'monthly' } },
    create: { workspaceId, period: 'monthly', ...data },
    update: data,
  });
}

export async function deleteBudgetRow(workspaceId: string, db: TDb = getPrisma()): Promise<boolean> {
  const { count } = await db.budget.deleteMany({ where: { workspaceId, period: 'monthly' } });
  return count > 0;
}

/** Records alerts once per (budget, threshold, period); returns only the ones this call created. */
export async function recordBudgetAlerts(
  rows: { workspaceId: string; budgetId: string; threshold: number; periodStart: Date; spent: string }[],
  db: TDb = getPrisma(),
) {
  if (rows.length === 0) return [];
  const before = await db.budgetAlert.findMany({
    where: { budgetId: rows[0].budgetId, periodStart: rows[0].periodStart },
    select: { threshold: true },
  });
  const had = new Set(before.map((b) => b.threshold));
  await db.budgetAlert.createMany({ data: rows, skipDuplicates: true });
  return rows.filter((r) => !had.has(r.threshold));
}

export function listBudgetAlerts(budgetId: string, periodStart: Date, db: TDb = getPrisma()) {
  return db.budgetAlert.findMany({ where: { budgetId, periodStart }, orderBy: { threshold: 'asc' } });
}

/** Workspaces that have a budget: the billing job checks their alerts on every run. */
export async function listBudgetedWorkspaceIds(db: TDb = getPrisma()): Promise<string[]> {
  const rows = await db.budget.findMany({ select: { workspaceId: true }, distinct: ['workspaceId'] });
  return rows.map((r) => r.workspaceId);
}

/** Every budget row (the instance admin's overview). */
export function listBudgetRows(db: TDb = getPrisma()) {
  return db.budget.findMany({ where: { period: 'monthly' } });
}

/**
 * Alerts whose e-mail is due: pending and not held by another sender (notifyLockedUntil in the past or unset), oldest
 * first, with the workspace and budget the mail talks about.
 */
export function findDueBudgetAlerts(now: Date, take = 100, db: TDb = getPrisma()) {
  return db.budgetAlert.findMany({
    where: {
      notifyStatus: 'pending',
      OR: [{ notifyLockedUntil: null }, { notifyLockedUntil: { lt: now } }],
    },
    orderBy: { createdAt: 'asc' },
    take,
    include: {
      workspace: { select: { id: true, name: true, slug: true } },
      budget: { select: { amount: true, currency: true, hardLimit: true } },
    },
  });
}

/**
 * Takes one alert for sending until `until`: true only for the one caller whose conditional UPDATE matched, so two
 * serving workers (or two overlapping runs) never send the same alert at once.
 */
export async function claimBudgetAlert(id: string, now: Date, until: Date, db: TDb = getPrisma()): Promise<boolean> {
  const { count } = await db.budgetAlert.updateMany({
    where: {
      id,
      notifyStatus: 'pending',
      OR: [{ notifyLockedUntil: null }, { notifyLockedUntil: { lt: now } }],
    },
    data: { notifyLockedUntil: until },
  });
  return count === 1;
}

/** Records one delivered address at once (before the next send), so a crash mid-way never mails it twice. */
export function addBudgetAlertRecipient(id: string, email: string, db: TDb = getPrisma()) {
  return db.budgetAlert.update({ where: { id }, data: { recipients: { push: email } } });
}

/** The outcome of one sending attempt; releases the claim. */
export function finishBudgetAlertNotification(
  id: string,
  data: {
    notifyStatus: 'pending' | 'sent' | 'failed' | 'skipped';
    notifyError: string | null;
    notifiedAt?: Date | null;
    attempted: boolean;
  },
  db: TDb = getPrisma(),
) {
  return db.budgetAlert.update({
    where: { id },
    data: {
      notifyStatus: data.notifyStatus,
      notifyError: data.notifyError,
      notifiedAt: data.notifiedAt ?? null,
      notifyLockedUntil: null,
      ...(data.attempted ? { notifyAttempts: { increment: 1 } } : {}),
    },
  });
}

/** Owners and admins of a workspace with their e-mail address and UI language: who budget alerts are mailed to. */
export async function listWorkspaceAdminRecipients(workspaceId: string, db: TDb = getPrisma()) {
  const rows = await db.member.findMany({
    where: { organizationId: workspaceId },
    include: { user: { select: { id: true, email: true, name: true, locale: true } } },
    orderBy: { createdAt: 'asc' },
  });
  return rows
    .map((r) => ({ ...r.user, role: parseRoles(r.role)[0] }))
    .filter((r) => r.role === 'owner' || r.role === 'admin');
}

/** Every workspace, by name, with its member count (the instance admin's overview). */
export function listWorkspacesForBilling(db: TDb = getPrisma()) {
  return db.workspace.findMany({
    select: { id: true, name: true, slug: true, createdAt: true, _count: { select: { members: true } } },
    orderBy: [{ name: 'asc' }, { slug: 'asc' }],
  });
}

/** Sums per workspace, category and currency in [from, to): one query for the whole instance. */
export async function sumLedgerByWorkspace(f: { from: Date; to: Date }, db: TDb = getPrisma()) {
  const rows = await db.usageRecord.groupBy({
    by: ['workspaceId', 'category', 'currency'],
    where: { occurredAt: { gte: f.from, lt: f.to } },
    _sum: { amount: true },
  });
  return rows.map((r) => ({
    workspaceId: r.workspaceId,
    category: r.category,
    currency: r.currency,
    amount: r._sum.amount,
  }));
}

/** What charging a deployment's hours reads of it (the accrual and the settling of one run). */
export const ACCRUAL_DEPLOYMENT_SELECT = {
  id: true,
  workspaceId: true,
  workerClass: true,
  replicas: true,
  startedAt: true,
  stoppedAt: true,
  status: true,
  createdById: true,
  fineTunedModelId: true,
  baseModelId: true,
} as const;

/** Deployments that may owe hours: running, or stopped after `since` (their last hours). */
export function findAccruingDeployments(since: Date, db: TDb = getPrisma()) {
  return db.deployment.findMany({
    where: {
      startedAt: { not: null },
      OR: [{ status: 'running' }, { stoppedAt: { gte: since } }],
    },
    select: ACCRUAL_DEPLOYMENT_SELECT,
  });
}

/** Idempotency keys already charged for a deployment's hours. */
export async function chargedDeploymentKeys(deploymentId: string, db: TDb = getPrisma()): Promise<Set<string>> {
  const rows = await db.usageRecord.findMany({
    where: { deploymentId, category: 'deployment' },
    select: { idempotencyKey: true },
  });
  return new Set(rows.map((r) => r.idempotencyKey));
}

export type TPriceCandidate = Awaited<ReturnType<typeof findPriceCandidates>>[number];

/**
 * The one ranking rule for prices (used by @crucible/billing's resolvePrice through findPriceItem):
 *  1. a workspace override list beats the instance list;
 *  2. among those, the list with the latest effectiveFrom (a newer list supersedes an older one entirely);
 *  3. within it, the item matching the most qualifiers (a "qwen2.5-7b + sft_lora" price beats a generic one).
 * An item whose qualifier is set and differs from the query never applies. Candidates must already be limited to
 * lists in effect at the time (findPriceCandidates). Returns null when none applies.
 */
export function pickPriceItem(
  candidates: TPriceCandidate[],
  q: { modelRef?: string | null; method?: string | null; workerClass?: string | null },
): TPriceCandidate | null {
  const matches = (want: string | null | undefined, have: string | null) => have === null || have === want;
  const usable = candidates.filter(
    (i) =>
      matches(q.modelRef, i.modelRef) && methodMatches(q.method, i.method) && matches(q.workerClass, i.workerClass),
  );
  // An exact method ("dpo_lora") is more specific than its stage ("dpo"), which is more specific than none.
  const specificity = (i: TPriceCandidate) =>
    (i.modelRef ? 2 : 0) + (i.method ? (i.method === q.method ? 2 : 1) : 0) + (i.workerClass ? 2 : 0);
  usable.sort(
    (a, b) =>
      (b.priceList.workspaceId ? 1 : 0) - (a.priceList.workspaceId ? 1 : 0) ||
      b.priceList.effectiveFrom.getTime() - a.priceList.effectiveFrom.getTime() ||
      b.priceList.createdAt.getTime() - a.priceList.createdAt.getTime() ||
      specificity(b) - specificity(a),
  );
  return usable[0] ?? null;
}

/**
 * A price item's method qualifier applies to that method ("dpo_lora") or, written as a training stage ("sft",
 * "dpo", "kto"), to every method of the stage (dpo_lora and dpo_full): the seeded `dpo` item prices preference
 * training whatever its fine-tuning type.
 */
function methodMatches(want: string | null | undefined, have: string | null): boolean {
  return have === null || have === want || (!!want && want.startsWith(`${have}_`));
}

/**
 * The instance's seeded default prices (USD).
 */
export const DEFAULT_PRICE_CURRENCY = 'USD';
export const DEFAULT_PRICE_ITEMS: TPriceItemData[] = [
  { category: 'training', meter: 'training_tokens', unit: '1K tokens', unitPrice: '0.003' },
  // Preference training (issue 15): tokens of both sequences of every pair (dpo) or of each row and its KL row (kto)
  // as the trainer counts them; a pair costs a forward of the reference too, hence twice the SFT price.
  { category: 'training', meter: 'training_tokens', method: 'dpo', unit: '1K tokens', unitPrice: '0.006' },
  { category: 'training', meter: 'training_tokens', method: 'kto', unit: '1K tokens', unitPrice: '0.006' },
  { category: 'inference', meter: 'input_tokens', unit: '1K tokens', unitPrice: '0.0005' },
  { category: 'inference', meter: 'output_tokens', unit: '1K tokens', unitPrice: '0.0015' },
  { category: 'deployment', meter: 'deployment_hours', unit: 'hour', unitPrice: '0.5' },
  { category: 'storage', meter: 'storage_gb_months', unit: 'GB-month', unitPrice: '0.02' },
];

/** The advisory lock that makes seeding the defaults one writer at a time (any constant; only this code takes it). */
const DEFAULT_PRICES_LOCK = 7_201_126;

/**
 * Seeds the default instance prices for every meter (and method) the instance has no price for (a fresh install,
 * one where only the training price was seeded, or one from before the dpo and kto items). Idempotent and safe to run concurrently: under a transaction-scoped advisory
 * lock, so requests that all find nothing priced seed one list, not one each. Returns true when it created a list.
 */
export async function ensureDefaultPrices(db: TDb = getPrisma()): Promise<boolean> {
  const seed = async (tx: TDb) => {
    await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${DEFAULT_PRICES_LOCK}::bigint)`;
    const priced = await instancePricedKeys(tx);
    const missing = DEFAULT_PRICE_ITEMS.filter((i) => !priced.has(pricedKey(i)));
    if (missing.length === 0) return false;
    await createPriceList(
      {
        workspaceId: null,
        name: 'Default',
        currency: DEFAULT_PRICE_CURRENCY,
        effectiveFrom: new Date(0),
        items: missing,
      },
      tx,
    );
    return true;
  };
  // Inside a caller's transaction the lock lasts until it commits; otherwise in a transaction of our own.
  return '$transaction' in db ? db.$transaction((tx) => seed(tx)) : seed(db);
}

/**
 * THE price lookup (every charge and estimate goes through it, via @crucible/billing's resolvePrice): the lists in effect at `at`, ranked by
 * pickPriceItem; seeds the defaults when nothing at all is priced for the meter. Null when nothing applies.
 */
export async function findPriceItem(
  q: {
    workspaceId: string | null;
    category: UsageCategory;
    meter: string;
    at?: Date;
    modelRef?: string | null;
    method?: string | null;
    workerClass?: string | null;
  },
  db: TDb = getPrisma(),
): Promise<TPriceCandidate | null> {
  const where = { workspaceId: q.workspaceId, category: q.category, meter: q.meter, at: q.at ?? new Date() };
  let candidates = await findPriceCandidates(where, db);
  // The instance's defaults back every workspace list: seeded when the instance prices nothing for this meter (a
  // workspace's model-specific price must not leave its other models unpriced).
  // Looked up again whether or not this call seeded them: a concurrent request may have seeded them after the first
  // lookup (a gateway answered 403 no_price to two of eight concurrent requests that way). A default item for this
  // query's method (the `dpo` item) is seeded the same way into an instance priced before it existed.
  const instance = new Set(candidates.filter((c) => c.priceList.workspaceId === null).map(pricedKey));
  const defaults = DEFAULT_PRICE_ITEMS.filter((i) => i.meter === q.meter && methodMatches(q.method, i.method ?? null));
  if (instance.size === 0 || defaults.some((d) => !instance.has(pricedKey(d)))) {
    await ensureDefaultPrices(db);
    candidates = await findPriceCandidates(where, db);
  }
  return pickPriceItem(candidates, q);
}

/** Bytes each workspace keeps in storage: dataset versions (of datasets not deleted), its own base models and the
 * downloads built for its models (ModelExport). */
export async function storageBytesByWorkspace(db: TDb = getPrisma()): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const add = (ws: string | null, v: bigint | null) => {
    if (ws && v) out.set(ws, (out.get(ws) ?? 0n) + v);
  };
  const versions = await db.datasetVersion.groupBy({
    by: ['workspaceId'],
    where: { dataset: { deletedAt: null } },
    _sum: { sizeBytes: true },
  });
  for (const v of versions) add(v.workspaceId, v._sum.sizeBytes);
  const models = await db.baseModel.groupBy({
    by: ['workspaceId'],
    where: { workspaceId: { not: null } },
    _sum: { sizeBytes: true },
  });
  for (const m of models) add(m.workspaceId, m._sum.sizeBytes);
  // downloads built on request (merged weights, GGUFs) stay in storage until their model is deleted
  const exports = await db.modelExport.groupBy({
    by: ['workspaceId'],
    where: { status: 'succeeded' },
    _sum: { sizeBytes: true },
  });
  for (const e of exports) add(e.workspaceId, e._sum.sizeBytes);
  return out;
}
