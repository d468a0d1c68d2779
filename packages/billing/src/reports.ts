/**
 * Reading the ledger: totals, the daily series, breakdowns, month-to-date with a forecast, CSV. Every number is a
 * sum of ledger lines (Decimal), so the dashboard, GET /api/usage and the CSV always agree with the ledger.
 * Days are UTC days.
 */
import { getPrisma, Prisma, type TDb, type UsageRecord } from '@crucible/db';
import { findLedgerLines, type TLedgerFilter } from '@crucible/db/billing';
import { BillingError } from './errors';

export const CATEGORIES = ['training', 'inference', 'deployment', 'storage'] as const;
export type TCategory = (typeof CATEGORIES)[number];
const DAY_MS = 86_400_000;

export const dayOf = (d: Date) => d.toISOString().slice(0, 10);

/** `YYYY-MM-DD` → the UTC midnight it names; refuses anything else. */
export function parseDay(s: string, name = 'date'): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) throw new BillingError('invalid_input', `${name} must be a date as YYYY-MM-DD.`);
  const d = new Date(`${s}T00:00:00.000Z`);
  if (Number.isNaN(d.getTime()) || dayOf(d) !== s)
    throw new BillingError('invalid_input', `${name} is not a real date.`);
  return d;
}

/** An inclusive day range [from, to] as the half-open [fromDate, toExclusive). Defaults: this month to today. */
export function dayRange(from: string | null | undefined, to: string | null | undefined, now = new Date()) {
  const f = from ? parseDay(from, 'from') : monthStart(now);
  const t = to ? parseDay(to, 'to') : parseDay(dayOf(now));
  if (t < f) throw new BillingError('invalid_input', '"to" must be on or after "from".');
  if (t.getTime() - f.getTime() > 366 * DAY_MS)
    throw new BillingError('invalid_input', 'A range can span at most 366 days.');
  return { from: dayOf(f), to: dayOf(t), fromDate: f, toExclusive: new Date(t.getTime() + DAY_MS) };
}

export const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
export const nextMonthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));

type TMoney = Record<string, string>;
const add = (m: Map<string, Prisma.Decimal>, key: string, v: Prisma.Decimal) =>
  m.set(key, (m.get(key) ?? new Prisma.Decimal(0)).add(v));
const toObj = (m: Map<string, Prisma.Decimal>): TMoney =>
  Object.fromEntries([...m.entries()].map(([k, v]) => [k, v.toFixed()]));

export type TLineOut = {
  id: string;
  occurredAt: string;
  day: string;
  category: string;
  meter: string;
  quantity: string;
  unit: string;
  unitPrice: string | null;
  amount: string;
  currency: string;
  jobId: string | null;
  deploymentId: string | null;
  modelId: string | null;
  apiKeyId: string | null;
  userId: string | null;
  description: string | null;
  idempotencyKey: string;
};

export const lineOut = (r: UsageRecord): TLineOut => ({
  id: r.id,
  occurredAt: r.occurredAt.toISOString(),
  day: dayOf(r.occurredAt),
  category: r.category,
  meter: r.meter,
  quantity: r.quantity.toFixed(),
  unit: r.unit,
  unitPrice: r.unitPrice ? r.unitPrice.toFixed() : null,
  amount: r.amount.toFixed(),
  currency: r.currency,
  jobId: r.jobId,
  deploymentId: r.deploymentId,
  modelId: r.modelId,
  apiKeyId: r.apiKeyId,
  userId: r.userId,
  description: r.description,
  idempotencyKey: r.idempotencyKey,
});

/**
 * Totals: per category (all currencies added only within a currency: byCategory is per the main currency). Takes
 * ledger lines or per-category sums of them (the instance overview), which add up the same.
 */
export function totalsOf(lines: Pick<UsageRecord, 'category' | 'currency' | 'amount'>[]) {
  const byCurrency = new Map<string, Prisma.Decimal>();
  const byCategoryCurrency = new Map<string, Map<string, Prisma.Decimal>>();
  for (const l of lines) {
    add(byCurrency, l.currency, l.amount);
    const m = byCategoryCurrency.get(l.category) ?? new Map();
    add(m, l.currency, l.amount);
    byCategoryCurrency.set(l.category, m);
  }
  const currency = mainCurrency(byCurrency);
  const byCategory = Object.fromEntries(
    CATEGORIES.map((c) => [c, (byCategoryCurrency.get(c)?.get(currency) ?? new Prisma.Decimal(0)).toFixed()]),
  ) as Record<TCategory, string>;
  return { currency, byCategory, byCurrency: toObj(byCurrency) };
}

/** The currency most of the money is in (USD when there is none). */
function mainCurrency(byCurrency: Map<string, Prisma.Decimal>): string {
  let best = 'USD';
  let most = new Prisma.Decimal(-1);
  for (const [c, v] of byCurrency) if (v.gt(most)) [best, most] = [c, v];
  return best;
}

/** One row per day in range, stacked by category (main currency). */
export function dailySeries(lines: UsageRecord[], fromDate: Date, toExclusive: Date, currency: string) {
  const days = new Map<string, Record<TCategory, Prisma.Decimal>>();
  for (let t = fromDate.getTime(); t < toExclusive.getTime(); t += DAY_MS) {
    days.set(dayOf(new Date(t)), {
      training: new Prisma.Decimal(0),
      inference: new Prisma.Decimal(0),
      deployment: new Prisma.Decimal(0),
      storage: new Prisma.Decimal(0),
    });
  }
  for (const l of lines) {
    if (l.currency !== currency) continue;
    const row = days.get(dayOf(l.occurredAt));
    if (row) row[l.category] = row[l.category].add(l.amount);
  }
  return [...days.entries()].map(([day, v]) => ({
    day,
    training: v.training.toFixed(),
    inference: v.inference.toFixed(),
    deployment: v.deployment.toFixed(),
    storage: v.storage.toFixed(),
    total: v.training.add(v.inference).add(v.deployment).add(v.storage).toFixed(),
  }));
}

const BREAKDOWNS = {
  model: 'modelId',
  job: 'jobId',
  deployment: 'deploymentId',
  apiKey: 'apiKeyId',
  member: 'userId',
} as const;

/** Spend grouped by model, job, deployment, API key and member (main currency), largest first. */
export function breakdowns(lines: UsageRecord[], currency: string) {
  const out = {} as Record<keyof typeof BREAKDOWNS, { key: string; amount: string; lines: number }[]>;
  for (const [name, field] of Object.entries(BREAKDOWNS) as [keyof typeof BREAKDOWNS, keyof UsageRecord][]) {
    const sums = new Map<string, { amount: Prisma.Decimal; lines: number }>();
    for (const l of lines) {
      const key = l[field] as string | null;
      if (!key || l.currency !== currency) continue;
      const s = sums.get(key) ?? { amount: new Prisma.Decimal(0), lines: 0 };
      sums.set(key, { amount: s.amount.add(l.amount), lines: s.lines + 1 });
    }
    out[name] = [...sums.entries()]
      .sort((a, b) => b[1].amount.comparedTo(a[1].amount))
      .map(([key, s]) => ({ key, amount: s.amount.toFixed(), lines: s.lines }));
  }
  return out;
}

/**
 * Month-to-date and a linear forecast to month end: spend so far ÷ elapsed time × the month's length. Amounts are
 * rounded to 4 decimals for the forecast only (it is a projection, not a charge).
 */
export function forecastOf(mtd: Prisma.Decimal, now: Date) {
  const start = monthStart(now).getTime();
  const end = nextMonthStart(now).getTime();
  const elapsed = Math.max(now.getTime() - start, 1);
  return mtd
    .mul(end - start)
    .div(elapsed)
    .toDecimalPlaces(4, Prisma.Decimal.ROUND_HALF_UP);
}

/** GET /api/usage and the dashboard: totals and lines for one workspace (or several, for an instance admin). */
export async function usageReport(
  f: { workspaceId?: string; workspaceIds?: string[]; from?: string | null; to?: string | null; category?: TCategory },
  opts: { now?: Date; lines?: boolean } = {},
  db: TDb = getPrisma(),
) {
  const range = dayRange(f.from, f.to, opts.now);
  const filter: TLedgerFilter = {
    workspaceId: f.workspaceId,
    workspaceIds: f.workspaceIds,
    from: range.fromDate,
    to: range.toExclusive,
    category: f.category,
  };
  const lines = await findLedgerLines(filter, {}, db);
  const totals = totalsOf(lines);
  return { range, lines, totals };
}

/** The dashboard summary: month-to-date, forecast, daily series, breakdowns over a range (default this month). */
export async function workspaceSummary(
  workspaceId: string,
  q: { from?: string | null; to?: string | null },
  now = new Date(),
  db: TDb = getPrisma(),
) {
  const { range, lines, totals } = await usageReport({ workspaceId, from: q.from, to: q.to }, { now }, db);
  const mtdLines = await findLedgerLines({ workspaceId, from: monthStart(now), to: nextMonthStart(now) }, {}, db);
  const mtd = totalsOf(mtdLines);
  const mtdMain = new Prisma.Decimal(mtd.byCurrency[mtd.currency] ?? '0');
  return {
    from: range.from,
    to: range.to,
    currency: totals.currency,
    totals: { byCategory: totals.byCategory, byCurrency: totals.byCurrency, lines: lines.length },
    monthToDate: {
      currency: mtd.currency,
      amount: mtdMain.toFixed(),
      byCategory: mtd.byCategory,
      forecast: forecastOf(mtdMain, now).toFixed(),
    },
    daily: dailySeries(lines, range.fromDate, range.toExclusive, totals.currency),
    breakdowns: breakdowns(lines, totals.currency),
  };
}

const CSV_COLUMNS: (keyof TLineOut)[] = [
  'occurredAt',
  'category',
  'meter',
  'quantity',
  'unit',
  'unitPrice',
  'amount',
  'currency',
  'jobId',
  'deploymentId',
  'modelId',
  'apiKeyId',
  'userId',
  'description',
  'idempotencyKey',
  'id',
];

/** RFC 4180: quote fields with commas, quotes or newlines; a leading =+-@ is prefixed with ' (spreadsheet formulas). */
export function csvField(v: string | null): string {
  if (v === null) return '';
  let s = v;
  if (/^[=+\-@]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function ledgerCsv(lines: UsageRecord[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const l of lines) {
    const o = lineOut(l);
    rows.push(CSV_COLUMNS.map((c) => csvField(o[c] as string | null)).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** A monthly statement: one row per (category, meter, unit price, currency) with quantities and amounts summed. */
export async function monthlyStatement(
  workspaceId: string,
  month: string | null | undefined,
  now = new Date(),
  db: TDb = getPrisma(),
) {
  const m = month ?? dayOf(now).slice(0, 7);
  if (!/^\d{4}-\d{2}$/.test(m)) throw new BillingError('invalid_input', 'month must be YYYY-MM.');
  const start = parseDay(`${m}-01`, 'month');
  const end = nextMonthStart(start);
  const lines = await findLedgerLines({ workspaceId, from: start, to: end }, {}, db);
  const groups = new Map<
    string,
    {
      category: string;
      meter: string;
      unit: string;
      unitPrice: string;
      currency: string;
      quantity: Prisma.Decimal;
      amount: Prisma.Decimal;
      lines: number;
    }
  >();
  for (const l of lines) {
    const unitPrice = l.unitPrice?.toFixed() ?? '';
    const key = [l.category, l.meter, l.unit, unitPrice, l.currency].join('|');
    const g = groups.get(key) ?? {
      category: l.category,
      meter: l.meter,
      unit: l.unit,
      unitPrice,
      currency: l.currency,
      quantity: new Prisma.Decimal(0),
      amount: new Prisma.Decimal(0),
      lines: 0,
    };
    g.quantity = g.quantity.add(l.quantity);
    g.amount = g.amount.add(l.amount);
    g.lines += 1;
    groups.set(key, g);
  }
  const items = [...groups.values()].map((g) => ({ ...g, quantity: g.quantity.toFixed(), amount: g.amount.toFixed() }));
  return { month: m, from: dayOf(start), to: dayOf(new Date(end.getTime() - DAY_MS)), items, totals: totalsOf(lines) };
}

export function statementCsv(s: Awaited<ReturnType<typeof monthlyStatement>>): string {
  const cols = ['category', 'meter', 'unit', 'unitPrice', 'quantity', 'amount', 'currency', 'lines'] as const;
  const rows = [cols.join(',')];
  for (const i of s.items) rows.push(cols.map((c) => csvField(String(i[c]))).join(','));
  for (const [currency, amount] of Object.entries(s.totals.byCurrency))
    rows.push(['total', '', '', '', '', amount, currency, ''].join(','));
  return `${rows.join('\r\n')}\r\n`;
}
