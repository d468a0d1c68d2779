import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { getRedisConnection } from './connection';
import { QUEUE_DEFAULTS, type TQueueName } from './constants';
import { jobName, type TAnyJobDefinition, type TJobPayload } from './definitions/define';
import { loadJobsEnv } from './env';
import { JobError } from './errors';

export type TQueueTarget = {
  /** Key prefix; default REDIS_PREFIX. Tests pass a unique one. */
  prefix?: string;
  /** Default: the shared connection (getRedisConnection). */
  connection?: Redis;
};

const queues = new Map<string, Queue>();

/** One Queue object per (prefix, name) in this process, created on first use. */
export function getQueue(name: TQueueName, target: TQueueTarget = {}): Queue {
  const prefix = target.prefix ?? loadJobsEnv().REDIS_PREFIX;
  const cacheKey = `${prefix}\u0000${name}`;
  let queue = queues.get(cacheKey);
  if (!queue) {
    queue = new Queue(name, {
      connection: target.connection ?? getRedisConnection(),
      prefix,
      defaultJobOptions: QUEUE_DEFAULTS.job,
    });
    // Without a listener an 'error' event (e.g. Redis restarting) is thrown and crashes the console; log it and
    // let ioredis reconnect. enqueue() calls still reject, so callers see the failure.
    queue.on('error', (error) => console.error(`[jobs] queue ${name}: ${error.message}`));
    queues.set(cacheKey, queue);
  }
  return queue;
}

export function formatIssues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * Validates the payload against the job's schema and adds it to its queue. Invalid input never reaches Redis:
 * it throws JobError('invalid_payload') with a sentence naming the fields.
 */
export async function enqueue<TDef extends TAnyJobDefinition>(
  def: TDef,
  payload: TJobPayload<TDef>,
  options: TQueueTarget & {
    job?: Pick<JobsOptions, 'jobId' | 'delay' | 'priority' | 'backoff'>;
    timeoutMs?: number;
  } = {},
): Promise<{ id: string; name: string; queue: TQueueName }> {
  const parsed = def.schema.safeParse(payload);
  if (!parsed.success) {
    throw new JobError('invalid_payload', `Cannot enqueue ${def.id}: ${formatIssues(parsed.error)}.`);
  }
  const name = jobName(def);
  // The connection retries forever while Redis is away (what BullMQ needs); a request handler must not hang
  // with it, so the add is bounded. The caller gets a sentence; the add may still land once Redis is back,
  // which is why the Postgres row, not the Redis entry, is the record of the job.
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new JobError('queue_unavailable', `Redis did not accept the ${def.id} job within ${timeoutMs} ms.`, {
            retryable: true,
          }),
        ),
      timeoutMs,
    );
  });
  const add = getQueue(def.queue, options)
    .add(name, parsed.data, options.job)
    .catch((error: unknown) => {
      throw new JobError('queue_unavailable', `Redis did not accept the ${def.id} job: ${(error as Error).message}.`, {
        retryable: true,
        cause: error,
      });
    });
  const job = await Promise.race([add, timeout]).finally(() => clearTimeout(timer));
  if (!job.id) throw new Error(`BullMQ returned no id for ${name}`);
  return { id: job.id, name, queue: def.queue };
}

/**
 * Registers (or updates) the repeatable job `schedulerId`: `def` with `payload` every `everyMs`, its first run at
 * once. Upserting the same id from several workers keeps one schedule, so every worker of a kind can call it at boot.
 * Retention and attempts come from QUEUE_DEFAULTS.repeatable (the next run is the retry); `job.priority` lets a
 * short periodic job go ahead of long ones waiting on the same queue.
 */
export async function scheduleRepeatable<TDef extends TAnyJobDefinition>(
  def: TDef,
  payload: TJobPayload<TDef>,
  schedule: { schedulerId: string; everyMs: number },
  options: TQueueTarget & { job?: Pick<JobsOptions, 'priority'> } = {},
): Promise<void> {
  const parsed = def.schema.safeParse(payload);
  if (!parsed.success) {
    throw new JobError('invalid_payload', `Cannot schedule ${def.id}: ${formatIssues(parsed.error)}.`);
  }
  if (!Number.isInteger(schedule.everyMs) || schedule.everyMs < 1_000) {
    throw new JobError('invalid_payload', `Cannot schedule ${def.id}: everyMs must be an integer >= 1000.`);
  }
  await getQueue(def.queue, options).upsertJobScheduler(
    schedule.schedulerId,
    { every: schedule.everyMs },
    { name: jobName(def), data: parsed.data, opts: { ...QUEUE_DEFAULTS.repeatable, ...options.job } },
  );
}

/** Closes every Queue this process opened (not the shared connection). Idempotent. */
export async function closeQueues(): Promise<void> {
  const all = [...queues.values()];
  queues.clear();
  await Promise.allSettled(all.map((q) => q.close()));
}
