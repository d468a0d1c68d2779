/**
 * Monthly budgets: spend this month (in the budget's currency) against the amount; alerts recorded once per
 * threshold and month (BudgetAlert); an optional hard limit that refuses new jobs (assertWithinBudget).
 */
import { getPrisma, Prisma, recordAudit, type TDb } from '@crucible/db';
import { getBudgetRow, listBudgetAlerts, recordBudgetAlerts, sumLedger } from '@crucible/db/billing';
import { z } from 'zod';
import { BillingError } from './errors';
import { CURRENCIES } from './prices';
import { monthStart, nextMonthStart } from './reports';

export const ZBudgetInput = z.object({
  amount: z.string().regex(/^\d+(\.\d{1,10})?$/, 'a positive decimal amount such as "500" or "99.50"'),
  currency: z.enum(CURRENCIES),
  thresholds: z.array(z.number().int().min(1).max(1000)).max(10).default([50, 80, 100]),
  hardLimit: z.boolean().default(false),
});
export type TBudgetInput = z.input<typeof ZBudgetInput>;

/** The budget, this month's spend in its currency, the percentage, the alerts raised and whether it is exceeded. */
export async function budgetStatus(workspaceId: string, now = new Date(), db: TDb = getPrisma()) {
  const budget = await getBudgetRow(workspaceId, db);
  if (!budget) return null;
  const periodStart = monthStart(now);
  const sums = await sumLedger({ workspaceId, from: periodStart, to: nextMonthStart(now) }, db);
  const spent = sums.find((s) => s.currency === budget.currency)?.amount ?? new Prisma.Decimal(0);
  const percent = budget.amount.isZero() ? (spent.isZero() ? 0 : 100) : spent.div(budget.amount).mul(100).toNumber();
  const alerts = await listBudgetAlerts(budget.id, periodStart, db);
  return {
    budget: {
      id: budget.id,
      amount: budget.amount.toFixed(),
      currency: budget.currency,
      thresholds: budget.thresholds,
      hardLimit: budget.hardLimit,
      period: budget.period,
    },
    periodStart: periodStart.toISOString(),
    spent: spent.toFixed(),
    percent: Math.round(percent * 100) / 100,
    exceeded: spent.gte(budget.amount),
    alerts: alerts.map((a) => ({ threshold: a.threshold, spent: a.spent.toFixed(), at: a.createdAt.toISOString() })),
  };
}

/**
 * Records an alert for each threshold this month's spend has reached, once per threshold and month; returns the new
 * ones (so a caller can notify workspace admins exactly once). Call after charging or when the dashboard loads.
 */
export async function checkBudgetAlerts(workspaceId: string, now = new Date(), db: TDb = getPrisma()) {
  const status = await budgetStatus(workspaceId, now, db);
  if (!status) return [];
  const spent = new Prisma.Decimal(status.spent);
  const amount = new Prisma.Decimal(status.budget.amount);
  const reached = status.budget.thresholds.filter((t) => spent.gte(amount.mul(t).div(100)));
  const created = await recordBudgetAlerts(
    reached.map((threshold) => ({
      workspaceId,
      budgetId: status.budget.id,
      threshold,
      periodStart: new Date(status.periodStart),
      spent: status.spent,
    })),
    db,
  );
  // the workspace's audit log is where admins read what happened; a mail/notification sender can follow the same
  // rows (one per threshold and month, never repeated)
  for (const a of created) {
    await recordAudit(
      {
        workspaceId,
        action: 'budget.alert',
        targetType: 'budget',
        targetId: a.budgetId,
        data: {
          threshold: a.threshold,
          spent: a.spent,
          amount: status.budget.amount,
          currency: status.budget.currency,
          periodStart: status.periodStart,
        },
      },
      db,
    );
  }
  return created;
}

/**
 * Refuses new work once a workspace with a hard limit has spent its monthly budget: throws
 * BillingError('budget_exceeded'). The fine-tuning create route calls it before queueing a job.
 */
export async function assertWithinBudget(workspaceId: string, now = new Date(), db: TDb = getPrisma()): Promise<void> {
  const status = await budgetStatus(workspaceId, now, db);
  if (!status?.budget.hardLimit || !status.exceeded) return;
  await checkBudgetAlerts(workspaceId, now, db);
  throw new BillingError(
    'budget_exceeded',
    `This workspace has spent ${status.spent} ${status.budget.currency} of its ${status.budget.amount} ${status.budget.currency} monthly budget, which is a hard limit: new jobs are refused until next month or until an admin raises the budget.`,
    { spent: status.spent, amount: status.budget.amount, currency: status.budget.currency },
  );
}
