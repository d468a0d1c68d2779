import {
  accrueDeploymentHours,
  accrueStorage,
  checkAllBudgetAlerts,
  createSmtpMailer,
  deliverBudgetAlerts,
  describeSmtpUrl,
  loadMailEnv,
  type TMailEnv,
  type TMailer,
} from '@crucible/billing';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';

/** Its own queue so the periodic accrual never waits behind (or is retried like) deployment actions. */
export const BILLING_QUEUE = 'billing';
/** One scheduler id for every serving worker: upserting it N times keeps one schedule, not N. */
export const BILLING_SCHEDULER_ID = 'billing-accrue';

/**
 * The processor: charge started deployment hours and today's storage (both idempotent, so repeats are free), then
 * check every workspace's budget, so an alert is raised even when nobody opens the console, and e-mail the alerts
 * not sent yet (each BudgetAlert row is an outbox entry: once per owner/admin, failures retried on the next run).
 * `mailer: null` (no SMTP_URL) marks new alerts skipped, with the reason shown in the console; no `mailer` at all
 * means the one SMTP_URL configures.
 */
export async function runBillingAccrual(
  now: Date = new Date(),
  opts: { mailer?: TMailer | null; appUrl?: string } = {},
) {
  const hours = await accrueDeploymentHours(now);
  const storage = await accrueStorage(now);
  const budgets = await checkAllBudgetAlerts(now);
  // no mailer given: the one the environment configures, for this run only
  const env = opts.mailer === undefined || !opts.appUrl ? loadMailEnv() : undefined;
  const mailer = opts.mailer === undefined && env ? createSmtpMailer(env) : (opts.mailer ?? null);
  try {
    const mail = await deliverBudgetAlerts({ mailer, appUrl: opts.appUrl ?? env?.APP_URL ?? '', now });
    return { hours, storage, budgets, mail };
  } finally {
    if (opts.mailer === undefined) mailer?.close();
  }
}

/**
 * Registers the shared repeatable `billing.accrue` job and a worker that runs it. Errors are logged and the job
 * fails (the next tick tries again); nothing here throws into the serving worker.
 */
export async function startBillingAccrual(opts: {
  connection: Redis;
  prefix: string;
  everyMs: number;
  log: (message: string) => void;
  /** SMTP_URL, MAIL_FROM, APP_URL (default: read from the environment, as validated at boot by env.ts). */
  mail?: TMailEnv;
  /** A mail transport of the caller's (tests); default: nodemailer over mail.SMTP_URL, or none without it. */
  mailer?: TMailer | null;
}) {
  const mailEnv = opts.mail ?? loadMailEnv();
  const mailer = opts.mailer !== undefined ? opts.mailer : createSmtpMailer(mailEnv);
  opts.log(
    mailer
      ? `billing: budget alerts are e-mailed${mailEnv.SMTP_URL ? ` through ${describeSmtpUrl(mailEnv.SMTP_URL)}` : ''}`
      : 'billing: SMTP_URL is not set; budget alerts are shown in the console and audit log but not e-mailed',
  );
  const queue = new Queue(BILLING_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  queue.on('error', (e) => opts.log(`billing queue: ${e.message}`));
  const worker = new Worker(
    BILLING_QUEUE,
    async () => {
      try {
        const r = await runBillingAccrual(new Date(), { mailer, appUrl: mailEnv.APP_URL });
        if (r.hours.linesCreated) opts.log(`billing: charged ${r.hours.linesCreated} deployment hour line(s)`);
        if (r.budgets.created.length) opts.log(`billing: ${r.budgets.created.length} new budget alert(s)`);
        for (const e of r.budgets.errors) opts.log(`billing: budget check of ${e.workspaceId} failed: ${e.message}`);
        if (r.mail.messages || r.mail.retrying || r.mail.failed)
          opts.log(
            `billing: ${r.mail.messages} budget alert mail(s) sent, ${r.mail.retrying} alert(s) to retry, ${r.mail.failed} given up`,
          );
        return {
          linesCreated: r.hours.linesCreated,
          alertsCreated: r.budgets.created.length,
          mailsSent: r.mail.messages,
        };
      } catch (error) {
        opts.log(`billing accrual failed: ${(error as Error).message}`);
        throw error;
      }
    },
    { connection: opts.connection.duplicate({ maxRetriesPerRequest: null }), prefix: opts.prefix, concurrency: 1 },
  );
  worker.on('error', (e) => opts.log(`billing worker: ${e.message}`));
  try {
    await queue.upsertJobScheduler(
      BILLING_SCHEDULER_ID,
      { every: opts.everyMs },
      { name: 'billing.accrue', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  } catch (error) {
    opts.log(`billing: could not schedule accrual: ${(error as Error).message}`);
  }
  return {
    queue,
    worker,
    close: async () => {
      await worker.close().catch(() => {});
      await queue.close().catch(() => {});
      mailer?.close();
    },
  };
}
