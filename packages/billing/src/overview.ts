/**
 * The instance admin's view of every workspace: spend by category over a range, month-to-date with the forecast, and
 * the budget with its percentage. Three grouped queries for the whole instance; every number is computed by the same
 * functions as a workspace's own dashboard (totalsOf, forecastOf, percentOf), so the two always agree.
 */
import { getPrisma, Prisma, type TDb } from '@crucible/db';
import { listBudgetRows, listWorkspacesForBilling, sumLedgerByWorkspace } from '@crucible/db/billing';
import { percentOf } from './budgets';
import { dayRange, forecastOf, monthStart, nextMonthStart, totalsOf } from './reports';

type TSum = Awaited<ReturnType<typeof sumLedgerByWorkspace>>[number];
const asLines = (rows: TSum[]) => rows.map((r) => ({ ...r, amount: r.amount ?? new Prisma.Decimal(0) }));

function byWorkspace(rows: TSum[]) {
  const out = new Map<string, TSum[]>();
  for (const r of rows) out.set(r.workspaceId, [...(out.get(r.workspaceId) ?? []), r]);
  return out;
}

export async function instanceBillingOverview(
  q: { from?: string | null; to?: string | null },
  now = new Date(),
  db: TDb = getPrisma(),
) {
  const range = dayRange(q.from, q.to, now);
  const [workspaces, rangeSums, mtdSums, budgets] = await Promise.all([
    listWorkspacesForBilling(db),
    sumLedgerByWorkspace({ from: range.fromDate, to: range.toExclusive }, db),
    sumLedgerByWorkspace({ from: monthStart(now), to: nextMonthStart(now) }, db),
    listBudgetRows(db),
  ]);
  const inRange = byWorkspace(rangeSums);
  const inMonth = byWorkspace(mtdSums);
  const budgetOf = new Map(budgets.map((b) => [b.workspaceId, b]));

  const rows = workspaces.map((w) => {
    const totals = totalsOf(asLines(inRange.get(w.id) ?? []));
    const month = asLines(inMonth.get(w.id) ?? []);
    const mtd = totalsOf(month);
    const mtdMain = new Prisma.Decimal(mtd.byCurrency[mtd.currency] ?? '0');
    const b = budgetOf.get(w.id);
    let budget = null;
    if (b) {
      const spent = month
        .filter((l) => l.currency === b.currency)
        .reduce((a, l) => a.add(l.amount), new Prisma.Decimal(0));
      budget = {
        amount: b.amount.toFixed(),
        currency: b.currency,
        hardLimit: b.hardLimit,
        spent: spent.toFixed(),
        percent: percentOf(spent, b.amount),
        exceeded: spent.gte(b.amount),
      };
    }
    return {
      id: w.id,
      name: w.name,
      slug: w.slug,
      createdAt: w.createdAt.toISOString(),
      members: w._count.members,
      currency: totals.currency,
      totals: { byCategory: totals.byCategory, byCurrency: totals.byCurrency },
      monthToDate: { currency: mtd.currency, amount: mtdMain.toFixed(), forecast: forecastOf(mtdMain, now).toFixed() },
      budget,
    };
  });
  const all = totalsOf(asLines(rangeSums));
  return {
    from: range.from,
    to: range.to,
    totals: { currency: all.currency, byCategory: all.byCategory, byCurrency: all.byCurrency },
    workspaces: rows,
  };
}
