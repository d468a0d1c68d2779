import type { JobsOptions, WorkerOptions } from 'bullmq';

/**
 * The queues, by what they carry. The console enqueues on them; workers/trainer, workers/serving and
 * workers/housekeeping consume (`training`, `deployments`, `housekeeping`: dataset imports, model exports, the
 * repeatable billing accrual; `evaluations`: evaluation runs, taken by the serving workers, where models are served,
 * on a queue of their own so a long evaluation never holds a deployment start).
 */
export const QUEUE_NAMES = Object.freeze({
  training: 'training',
  deployments: 'deployments',
  housekeeping: 'housekeeping',
  evaluations: 'evaluations',
} as const);
export type TQueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * Every queue default in one frozen object, so retries, retention and shutdown timing are decided in one place.
 * `satisfies` checks each part against BullMQ's own option types without widening the literal values.
 */
export const QUEUE_DEFAULTS = Object.freeze({
  job: Object.freeze({
    // Training and deployment failures are mostly transient (a worker restart, a busy GPU); three tries with
    // exponential backoff (10 s, 20 s, ...) ride those out without hammering. Bad input fails at once instead
    // (UnrecoverableError, see runtime.ts).
    attempts: 3,
    backoff: Object.freeze({ type: 'exponential', delay: 10_000 }),
    // Retention: Postgres is the record of a job (documenso's pattern); Redis keeps recent entries for
    // debugging only, bounded by age and count so the queue never grows without limit.
    removeOnComplete: Object.freeze({ age: 7 * 24 * 3600, count: 1_000 }),
    removeOnFail: Object.freeze({ age: 30 * 24 * 3600, count: 5_000 }),
  } satisfies JobsOptions),
  worker: Object.freeze({
    // A worker that stops renewing its lock (killed, frozen) loses the job after lockDuration; another
    // worker's stalled check then moves it back to wait. Two stalls are allowed before the job fails, so one
    // crashed worker never fails a job by itself.
    lockDuration: 30_000,
    stalledInterval: 30_000,
    maxStalledCount: 2,
  } satisfies Partial<WorkerOptions>),
  // On SIGTERM a running job gets this long to finish before it is handed back to the queue. Below docker's
  // default stop timeout (10 s, then SIGKILL) and `npm start`'s 15 s, so the hand-back happens before any kill.
  shutdownGraceMs: 8_000,
  heartbeat: Object.freeze({ ttlSec: 30, intervalMs: 10_000 }),
  // A repeatable job (scheduleRepeatable): its next run is its retry, so it gets one attempt; Redis keeps only the
  // last runs (each repeats every few minutes, and Postgres records what a run did).
  repeatable: Object.freeze({
    attempts: 1,
    removeOnComplete: Object.freeze({ count: 100 }),
    removeOnFail: Object.freeze({ count: 100 }),
  } satisfies JobsOptions),
});
