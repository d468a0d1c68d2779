/**
 * Monthly budgets: spend this month (in the budget's currency) against the amount; alerts recorded once per
 * threshold and month (BudgetAlert); an optional hard limit that refuses new jobs (assertWithinBudget).
 */
import { getPrisma, Prisma, recordAudit, type TDb } from '@crucible/db';
import {
  getBudgetRow,
  listBudgetAlerts,
  listBudgetedWorkspaceIds,
  recordBudgetAlerts,
  sumLedger,
} from '@crucible/db/billing';
import { z } from 'zod';
import { BillingError } from './errors';
import { notificationOf } from './notify';
import { CURRENCIES } from './prices';
import { monthStart, nextMonthStart } from './reports';

export const ZBudgetInput = z.object({
  // The column is DECIMAL(24, 10): 14 integer digits. A longer number overflowed it (Prisma P2020, a 500).
  amount: z
    .string()
    .regex(
      /^\d{1,13}(\.\d{1,10})?$/,
      'a positive decimal amount such as "500" or "99.50" (at most 13 digits before the point)',
    ),
  currency: z.enum(CURRENCIES),
  thresholds: z.array(z.number().int().min(1).max(1000)).max(10).default([50, 80, 100]),
  hardLimit: z.boolean().default(false),
});
export type TBudgetInput = z.input<typeof ZBudgetInput>;

/** Spend as a percentage of the budget, 2 decimals (a zero budget is 100% used as soon as anything is spent). */
export function percentOf(spent: Prisma.Decimal, amount: Prisma.Decimal): number {
  const percent = amount.isZero() ? (spent.isZero() ? 0 : 100) : spent.div(amount).mul(100).toNumber();
  return Math.round(percent * 100) / 100;
}

/** The budget, this month's spend in its currency, the percentage, the alerts raised and whether it is exceeded. */
export async function budgetStatus(workspaceId: string, now = new Date(), db: TDb = getPrisma()) {
  const budget = await getBudgetRow(workspaceId, db);
  if (!budget) return null;
  const periodStart = monthStart(now);
  const sums = await sumLedger({ workspaceId, from: periodStart, to: nextMonthStart(now) }, db);
  const spent = sums.find((s) => s.currency === budget.currency)?.amount ?? new Prisma.Decimal(0);
  const percent = percentOf(spent, budget.amount);
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
    percent,
    exceeded: spent.gte(budget.amount),
    alerts: alerts.map((a) => ({
      threshold: a.threshold,
      spent: a.spent.toFixed(),
      at: a.createdAt.toISOString(),
      notification: notificationOf(a),
    })),
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
  // the workspace's audit log is where admins read what happened; the rows themselves are the e-mail outbox
  // (notify.ts: one mail per owner/admin and row, never repeated)
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
 * Checks every workspace that has a budget (the billing.accrue job, after charging), so an alert is recorded even
 * when nobody opens the console. One workspace's failure does not stop the others; it is returned.
 */
export async function checkAllBudgetAlerts(now = new Date(), db: TDb = getPrisma()) {
  const workspaceIds = await listBudgetedWorkspaceIds(db);
  const created: Awaited<ReturnType<typeof checkBudgetAlerts>> = [];
  const errors: { workspaceId: string; message: string }[] = [];
  for (const workspaceId of workspaceIds) {
    try {
      created.push(...(await checkBudgetAlerts(workspaceId, now, db)));
    } catch (error) {
      errors.push({ workspaceId, message: (error as Error).message });
    }
  }
  return { checked: workspaceIds.length, created, errors };
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
    `This workspace has spent ${status.spent} ${status.budget.currency} of its ${status.budget.amount} ${status.budget.currency} monthly budget, which is a hard limit: new jobs, deployments and API requests are refused until next month or until an admin raises the budget.`,
    { spent: status.spent, amount: status.budget.amount, currency: status.budget.currency },
  );
}
