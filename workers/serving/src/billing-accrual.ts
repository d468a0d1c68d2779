import { accrueDeploymentHours, accrueStorage } from '@crucible/billing';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';

/** Its own queue so the periodic accrual never waits behind (or is retried like) deployment actions. */
export const BILLING_QUEUE = 'billing';
/** One scheduler id for every serving worker: upserting it N times keeps one schedule, not N. */
export const BILLING_SCHEDULER_ID = 'billing-accrue';

/** The processor: charge started deployment hours and today's storage. Both are idempotent, so repeats are free. */
export async function runBillingAccrual(now: Date = new Date()) {
  const hours = await accrueDeploymentHours(now);
  const storage = await accrueStorage(now);
  return { hours, storage };
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
}) {
  const queue = new Queue(BILLING_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  queue.on('error', (e) => opts.log(`billing queue: ${e.message}`));
  const worker = new Worker(
    BILLING_QUEUE,
    async () => {
      try {
        const r = await runBillingAccrual(new Date());
        if (r.hours.linesCreated) opts.log(`billing: charged ${r.hours.linesCreated} deployment hour line(s)`);
        return { linesCreated: r.hours.linesCreated };
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
    },
  };
}
