import {
  accrueDeploymentHours,
  accrueStorage,
  checkAllBudgetAlerts,
  createSmtpMailer,
  deliverBudgetAlerts,
  loadMailEnv,
  type TMailer,
} from '@crucible/billing';
import { BILLING_ACCRUE_SCHEDULER_ID, billingAccrueJob, getRedisConnection, type TQueueTarget } from '@crucible/jobs';
import { Queue } from 'bullmq';
import { scheduleChore } from './chores';

/**
 * One billing run: charge started deployment hours and today's storage (both idempotent, so repeats are free), then
 * check every workspace's budget, so an alert is raised even when nobody opens the console, and e-mail the alerts
 * not sent yet (each BudgetAlert row is an outbox entry: once per owner/admin, failures retried on the next run).
 * `mailer: null` (no SMTP_URL) marks new alerts skipped, with the reason shown in the console; no `mailer` at all
 * means the one SMTP_URL configures, for this run only.
 */
export async function runBillingAccrual(
  now: Date = new Date(),
  opts: { mailer?: TMailer | null; appUrl?: string } = {},
) {
  const hours = await accrueDeploymentHours(now);
  const storage = await accrueStorage(now);
  const budgets = await checkAllBudgetAlerts(now);
  const env = opts.mailer === undefined || !opts.appUrl ? loadMailEnv() : undefined;
  const mailer = opts.mailer === undefined && env ? createSmtpMailer(env) : (opts.mailer ?? null);
  try {
    const mail = await deliverBudgetAlerts({ mailer, appUrl: opts.appUrl ?? env?.APP_URL ?? '', now });
    return { hours, storage, budgets, mail };
  } finally {
    if (opts.mailer === undefined) mailer?.close();
  }
}

/** Registers the shared repeatable `billing.accrue` job (see scheduleChore). */
export const scheduleBillingAccrual = (everyMs: number, target: TQueueTarget = {}) =>
  scheduleChore(billingAccrueJob, BILLING_ACCRUE_SCHEDULER_ID, everyMs, target);

/**
 * Before issue 17 the serving workers kept the schedule on a queue of their own (`billing`, scheduler
 * `billing-accrue`). Nothing consumes that queue now; removing its schedule keeps it from holding a run nobody takes.
 */
export async function forgetLegacyBillingSchedule(prefix: string): Promise<void> {
  const queue = new Queue('billing', { connection: getRedisConnection(), prefix });
  queue.on('error', () => {}); // best effort: the next boot tries again
  try {
    await queue.removeJobScheduler(BILLING_ACCRUE_SCHEDULER_ID);
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
}
