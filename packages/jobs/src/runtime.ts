import { randomUUID } from 'node:crypto';
import { hostname, totalmem } from 'node:os';
import { type Job, UnrecoverableError, WaitingError, Worker, type WorkerOptions } from 'bullmq';
import { createRedisConnection } from './connection';
import { QUEUE_DEFAULTS, type TQueueName } from './constants';
import { jobName, type TAnyJobDefinition, type TJobHandler } from './definitions/define';
import { loadJobsEnv } from './env';
import { isJobError } from './errors';
import { forgetDeadLocalWorkers, heartbeatKey, type TWorkerHeartbeat, writeHeartbeat } from './heartbeat';
import { formatIssues } from './queue';

export type TLogLevel = 'info' | 'warn' | 'error';
export type TLogger = (level: TLogLevel, message: string) => void;

export type TWorkerRuntimeOptions = {
  /** What this worker is, in heartbeats and log lines: `trainer`, `serving`, `housekeeping`. */
  kind: string;
  queue: TQueueName;
  /** Job types this worker runs; each must have a handler. */
  jobs: readonly TAnyJobDefinition[];
  concurrency?: number;
  /** Default REDIS_PREFIX / REDIS_URL from the env. */
  prefix?: string;
  redisUrl?: string;
  workerId?: string;
  shutdownGraceMs?: number;
  heartbeat?: { ttlSec?: number; intervalMs?: number };
  /** Lock and stall timing; default QUEUE_DEFAULTS.worker (tests shorten them to see crash recovery quickly). */
  lockTiming?: Partial<Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>>;
  /** Install SIGTERM/SIGINT handlers that close the runtime and exit 0 (default true; tests pass false). */
  handleSignals?: boolean;
  /** Runs after the runtime closed on a signal, before the process exits (close the DB pool, ...). */
  onSignalClosed?: () => Promise<void>;
  log?: TLogger;
};

export type TWorkerRuntime = {
  readonly workerId: string;
  readonly worker: Worker;
  /** Resolves once the worker is connected and its first heartbeat is written. */
  readonly ready: Promise<void>;
  activeJobIds(): string[];
  /**
   * Stops taking jobs, lets running ones finish within the grace period, hands the rest back to the queue
   * (they run again on another worker: never lost), removes the heartbeat and closes Redis. Idempotent; a call
   * while already closing with `graceMs: 0` hands back at once (a second Ctrl-C).
   */
  closeRuntime(options?: { graceMs?: number }): Promise<void>;
};

type TActive = {
  job: Job;
  token: string | undefined;
  controller: AbortController;
  handedBack: boolean;
  resolveHandedBack: () => void;
  handedBackSignal: Promise<void>;
};

const defaultLogger =
  (kind: string): TLogger =>
  (level, message) => {
    const line = `[${kind}] ${message}`;
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };

/** A handler's failure as BullMQ understands it: non-retryable codes fail at once instead of using attempts. */
function toQueueError(error: unknown): Error {
  if (isJobError(error)) {
    const message = `${error.code}: ${error.message}`;
    return error.retryable ? new Error(message, { cause: error }) : new UnrecoverableError(message);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** The machine's memory, or the container's limit when one is set and lower (process.constrainedMemory). */
function usableMemory(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  const total = totalmem();
  return Math.floor(limit > 0 && limit < total ? limit : total);
}

export function createWorkerRuntime(options: TWorkerRuntimeOptions): TWorkerRuntime {
  const env = loadJobsEnv();
  const prefix = options.prefix ?? env.REDIS_PREFIX;
  const kind = options.kind;
  const workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 1;
  const graceDefault = options.shutdownGraceMs ?? QUEUE_DEFAULTS.shutdownGraceMs;
  const ttlSec = options.heartbeat?.ttlSec ?? QUEUE_DEFAULTS.heartbeat.ttlSec;
  const intervalMs = options.heartbeat?.intervalMs ?? QUEUE_DEFAULTS.heartbeat.intervalMs;
  const log = options.log ?? defaultLogger(kind);

  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be an integer >= 1, got ${concurrency}`);
  const byName = new Map<string, TAnyJobDefinition>();
  for (const def of options.jobs) {
    if (def.queue !== options.queue)
      throw new Error(`job ${def.id} belongs to queue ${def.queue}, not ${options.queue}`);
    if (!def.handler) throw new Error(`job ${def.id} has no handler in the ${kind} worker`);
    byName.set(jobName(def), def);
  }

  const connection = createRedisConnection(options.redisUrl ?? env.REDIS_URL);
  const active = new Map<string, TActive>();
  const startedAt = new Date().toISOString();
  let status: TWorkerHeartbeat['status'] = 'running';

  async function processJob(job: Job, token?: string, bullSignal?: AbortSignal): Promise<unknown> {
    const def = byName.get(job.name);
    if (!def?.handler) {
      throw new UnrecoverableError(
        `unknown_job: the ${kind} worker has no declaration for "${job.name}" (known: ${[...byName.keys()].join(', ')})`,
      );
    }
    // Validated again here: the producer may be an older or newer console, or something that wrote to Redis
    // directly. A bad payload fails at once with a sentence instead of retrying.
    const parsed = def.schema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `invalid_payload: ${def.id} payload rejected by the worker: ${formatIssues(parsed.error)}`,
      );
    }
    const handler = (await def.handler()).default as unknown as TJobHandler<unknown>;

    let resolveHandedBack = () => {};
    const handedBackSignal = new Promise<void>((resolve) => {
      resolveHandedBack = resolve;
    });
    const entry: TActive = {
      job,
      token,
      controller: new AbortController(),
      handedBack: false,
      resolveHandedBack,
      handedBackSignal,
    };
    const id = job.id ?? '';
    active.set(id, entry);
    bullSignal?.addEventListener('abort', () => entry.controller.abort(bullSignal.reason), { once: true });
    try {
      // Promise.resolve().then: a handler that throws synchronously is reported like one that rejects.
      const run = Promise.resolve()
        .then(() =>
          handler(parsed.data, {
            jobId: id,
            workerId,
            attempt: job.attemptsMade + 1,
            signal: entry.controller.signal,
            log: (message) => {
              log('info', `job ${id} (${def.id}): ${message}`);
              job.log(message).catch(() => {});
            },
            updateProgress: (progress) => job.updateProgress(progress),
          }),
        )
        .then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
      // The race lets a hand-back end this processor even if the handler ignores its abort signal.
      const outcome = await Promise.race([run, handedBackSignal.then(() => null)]);
      // Already moved back to wait by closeRuntime: tell BullMQ not to complete or fail it.
      if (entry.handedBack || outcome === null) throw new WaitingError();
      if (!outcome.ok) throw toQueueError(outcome.error);
      return outcome.value;
    } finally {
      active.delete(id);
    }
  }

  const worker = new Worker(options.queue, processJob, {
    connection,
    prefix,
    concurrency,
    name: workerId,
    ...QUEUE_DEFAULTS.worker,
    ...options.lockTiming,
  });
  // An 'error' event without a listener is thrown by Node and kills the worker mid-job (BullMQ emits them for
  // Redis reconnects and lock renewals); logging keeps the process alive while ioredis reconnects.
  worker.on('error', (error) => log('error', `worker error: ${error.message}`));
  worker.on('failed', (job, error) =>
    log('warn', `job ${job?.id ?? '?'} (${job?.name ?? '?'}) failed: ${error.message}`),
  );
  worker.on('completed', (job) => log('info', `job ${job.id} (${job.name}) completed`));

  const beat = () =>
    writeHeartbeat(
      connection,
      prefix,
      {
        kind,
        workerId,
        queue: options.queue,
        pid: process.pid,
        hostname: hostname(),
        status,
        concurrency,
        activeJobs: [...active.keys()],
        startedAt,
        updatedAt: new Date().toISOString(),
        intervalMs,
        memoryBytes: usableMemory(),
      },
      ttlSec,
    );
  const heartbeatTimer = setInterval(() => {
    beat().catch((error) => log('warn', `heartbeat failed: ${(error as Error).message}`));
  }, intervalMs);
  heartbeatTimer.unref();

  const ready = (async () => {
    await worker.waitUntilReady();
    const forgotten = await forgetDeadLocalWorkers(connection, prefix, kind).catch(() => 0);
    if (forgotten) log('info', `removed ${forgotten} heartbeat(s) of ${kind} workers on this host that are gone`);
    await beat();
    log(
      'info',
      `worker ${workerId} taking jobs from "${options.queue}" (concurrency ${concurrency}, prefix ${prefix})`,
    );
  })();
  ready.catch(() => {}); // surfaced to whoever awaits it; never an unhandled rejection

  async function handBack(entry: TActive) {
    if (entry.handedBack) return;
    entry.handedBack = true;
    try {
      await entry.job.moveToWait(entry.token);
      log('warn', `job ${entry.job.id} handed back to the queue (shutdown grace period over)`);
    } catch (error) {
      // The lock will expire and another worker's stalled check moves it back: late, but not lost.
      log(
        'error',
        `could not hand back job ${entry.job.id}: ${(error as Error).message}; it returns to the queue after ${QUEUE_DEFAULTS.worker.lockDuration} ms`,
      );
    }
    entry.controller.abort(new Error('worker shutting down'));
    entry.resolveHandedBack();
  }

  const handBackAll = () => Promise.all([...active.values()].map(handBack));

  let closing: Promise<void> | null = null;
  function closeRuntime({ graceMs = graceDefault }: { graceMs?: number } = {}): Promise<void> {
    if (closing) {
      if (graceMs === 0) void handBackAll();
      return closing;
    }
    closing = (async () => {
      status = 'stopping';
      log('info', `stopping: ${active.size} running job(s), grace ${graceMs} ms`);
      await beat().catch(() => {});
      const workerClosed = worker.close(); // stops fetching now; resolves when running jobs are done
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace'>((resolve) => {
        timer = setTimeout(() => resolve('grace'), graceMs);
      });
      const first = await Promise.race([workerClosed.then(() => 'closed' as const), graceOver]);
      clearTimeout(timer);
      if (first === 'grace') await handBackAll();
      await workerClosed;
      clearInterval(heartbeatTimer);
      await connection.del(heartbeatKey(prefix, kind, workerId)).catch(() => {});
      await connection.quit().catch(() => connection.disconnect());
      log('info', 'stopped');
    })();
    return closing;
  }

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        // A second Ctrl-C: do not wait out the grace period; the first signal's chain still exits.
        log('info', `${signal} again: handing running jobs back now`);
        void closeRuntime({ graceMs: 0 });
        return;
      }
      log('info', `${signal}: shutting down gracefully`);
      closeRuntime()
        .then(() => options.onSignalClosed?.())
        .then(
          () => process.exit(0),
          (error) => {
            log('error', `shutdown failed: ${(error as Error).message}`);
            process.exit(1);
          },
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  return { workerId, worker, ready, activeJobIds: () => [...active.keys()], closeRuntime };
}
