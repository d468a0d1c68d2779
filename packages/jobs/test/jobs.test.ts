import { spawn } from 'node:child_process';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Job } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  closeQueues,
  closeRedisConnection,
  createRedisConnection,
  createWorkerRuntime,
  defineJob,
  enqueue,
  getQueue,
  heartbeatKey,
  JobError,
  QUEUE_DEFAULTS,
  QUEUE_NAMES,
  readWorkerHeartbeats,
  scheduleRepeatable,
  type TJobContext,
  type TWorkerRuntime,
  trainingRunJob,
} from '../src/index';
import { dropPrefix, sleep, uniquePrefix, waitFor } from './helpers';

const redis = createRedisConnection();
const prefixes: string[] = [];
const runtimes: TWorkerRuntime[] = [];

const fresh = () => {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return prefix;
};

// Handlers live in the test: the lazy `handler` import returns them as a module.
type THandler = (payload: { jobId: string }, ctx: TJobContext) => Promise<unknown>;
const testJob = (handler: THandler) =>
  defineJob({
    id: 'test.echo',
    version: 1,
    queue: 'training',
    schema: z.strictObject({ jobId: z.string().min(1) }),
    handler: async () => ({ default: handler }),
  });

const logs: string[] = [];
function start(prefix: string, handler: THandler, extra: { graceMs?: number; concurrency?: number } = {}) {
  const runtime = createWorkerRuntime({
    kind: 'test',
    queue: 'training',
    jobs: [testJob(handler)],
    prefix,
    concurrency: extra.concurrency,
    shutdownGraceMs: extra.graceMs,
    handleSignals: false,
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  runtimes.push(runtime);
  return runtime;
}

async function stateOf(prefix: string, id: string) {
  const queue = getQueue('training', { prefix });
  const state = await queue.getJobState(id);
  const job = await queue.getJob(id);
  return job ? { job, state } : null;
}

async function waitForState(prefix: string, id: string, state: string, timeoutMs = 10_000): Promise<Job> {
  const queue = getQueue('training', { prefix });
  await waitFor(`job ${id} to be ${state}`, async () => (await queue.getJobState(id)) === state, timeoutMs);
  // Read the job after the state: a job read first may predate the transition (no return value yet).
  const job = await queue.getJob(id);
  if (!job) throw new Error(`job ${id} vanished`);
  return job;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.closeRuntime({ graceMs: 0 })));
  await closeQueues();
  for (const p of prefixes.splice(0)) await dropPrefix(redis, p);
});

afterAll(async () => {
  await closeRedisConnection();
  await redis.quit();
});

describe('enqueue', () => {
  it('refuses an invalid payload with a sentence naming the field, and writes nothing', async () => {
    const prefix = fresh();
    const attempt = enqueue(trainingRunJob, { jobId: '' }, { prefix });
    await expect(attempt).rejects.toBeInstanceOf(JobError);
    await expect(attempt).rejects.toMatchObject({
      code: 'invalid_payload',
      message: expect.stringMatching(/training\.run.*jobId/),
    });
    // Extra fields are refused too: the Redis entry carries ids only, never data.
    await expect(enqueue(trainingRunJob, { jobId: 'j1', dataset: 'x' } as never, { prefix })).rejects.toMatchObject({
      code: 'invalid_payload',
    });
    const counts = await getQueue('training', { prefix }).getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('stores only the ids, under the prefix, with the frozen defaults', async () => {
    const prefix = fresh();
    const { id, name, queue } = await enqueue(trainingRunJob, { jobId: 'job_123' }, { prefix });
    expect(name).toBe('training.run@1');
    expect(queue).toBe('training');
    const job = await getQueue('training', { prefix }).getJob(id);
    expect(job?.data).toEqual({ jobId: 'job_123' });
    expect(job?.opts.attempts).toBe(QUEUE_DEFAULTS.job.attempts);
    expect(job?.opts.backoff).toEqual({ type: 'exponential', delay: 10_000 });
    expect(await redis.exists(`${prefix}:training:${id}`)).toBe(1);
    expect(
      Object.isFrozen(QUEUE_DEFAULTS) &&
        Object.isFrozen(QUEUE_DEFAULTS.job) &&
        Object.isFrozen(QUEUE_DEFAULTS.job.backoff),
    ).toBe(true);
  });
});

describe('scheduleRepeatable', () => {
  const tick = (handler: () => Promise<unknown>) =>
    defineJob({
      id: 'test.tick',
      version: 1,
      queue: QUEUE_NAMES.housekeeping,
      schema: z.strictObject({}),
      handler: async () => ({ default: handler }),
    });

  it('keeps one schedule however many workers register it, and runs it at once with the repeatable defaults', async () => {
    const prefix = fresh();
    let runs = 0;
    const def = tick(async () => {
      runs++;
      return 'ticked';
    });
    await scheduleRepeatable(def, {}, { schedulerId: 'tick', everyMs: 600_000 }, { prefix, job: { priority: 1 } });
    await scheduleRepeatable(def, {}, { schedulerId: 'tick', everyMs: 600_000 }, { prefix, job: { priority: 1 } });
    const queue = getQueue(QUEUE_NAMES.housekeeping, { prefix });
    expect(await queue.getJobSchedulersCount()).toBe(1);
    const runtime = createWorkerRuntime({
      kind: 'test',
      queue: QUEUE_NAMES.housekeeping,
      jobs: [def],
      prefix,
      handleSignals: false,
      log: () => {},
    });
    runtimes.push(runtime);
    await waitFor('the first run', async () => runs >= 1);
    const [done] = await waitFor('a completed entry', () => queue.getJobs(['completed']));
    expect(done.name).toBe('test.tick@1');
    expect(done.opts).toMatchObject({ attempts: 1, priority: 1, removeOnComplete: { count: 100 } });
    expect(runs).toBe(1); // the next run waits for its interval
  });

  it('refuses a payload its schema refuses, and an interval under a second, scheduling nothing', async () => {
    const prefix = fresh();
    const def = tick(async () => null);
    await expect(
      scheduleRepeatable(def, { extra: 1 } as never, { schedulerId: 'tick', everyMs: 60_000 }, { prefix }),
    ).rejects.toMatchObject({ code: 'invalid_payload', message: expect.stringMatching(/test\.tick/) });
    await expect(scheduleRepeatable(def, {}, { schedulerId: 'tick', everyMs: 10 }, { prefix })).rejects.toMatchObject({
      code: 'invalid_payload',
      message: expect.stringMatching(/everyMs/),
    });
    expect(await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJobSchedulersCount()).toBe(0);
  });
});

describe('enqueue when Redis is away', () => {
  it('fails within its time limit with queue_unavailable instead of hanging the request', async () => {
    const dead = createRedisConnection('redis://127.0.0.1:1', { lazyConnect: true });
    dead.removeAllListeners('error');
    dead.on('error', () => {}); // the refused connection is the point of this test
    const t0 = Date.now();
    await expect(
      enqueue(trainingRunJob, { jobId: 'j' }, { prefix: fresh(), connection: dead, timeoutMs: 500 }),
    ).rejects.toMatchObject({ code: 'queue_unavailable' });
    expect(Date.now() - t0).toBeLessThan(2_000);
    await closeQueues();
    dead.disconnect();
  });
});

describe('enqueue when Redis hangs', () => {
  it('gives up after its time limit with queue_unavailable', async () => {
    // A real socket that accepts and never answers: a Redis stuck behind a dead network path.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const stuck = createRedisConnection(`redis://127.0.0.1:${port}`);
    stuck.removeAllListeners('error');
    stuck.on('error', () => {});
    try {
      const t0 = Date.now();
      await expect(
        enqueue(trainingRunJob, { jobId: 'j' }, { prefix: fresh(), connection: stuck, timeoutMs: 400 }),
      ).rejects.toMatchObject({ code: 'queue_unavailable', message: expect.stringMatching(/within 400 ms/) });
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      stuck.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await closeQueues();
    }
  });
});

describe('worker runtime', () => {
  it('runs up to `concurrency` jobs at once', async () => {
    const prefix = fresh();
    let running = 0;
    let peak = 0;
    const runtime = start(
      prefix,
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(300);
        running -= 1;
      },
      { concurrency: 2 },
    );
    await runtime.ready;
    const ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (
          await enqueue(
            testJob(async () => null),
            { jobId: `c${i}` },
            { prefix },
          )
        ).id,
      );
    for (const id of ids) await waitForState(prefix, id, 'completed');
    expect(peak).toBe(2);
  });

  it('processes a job with its validated payload', async () => {
    const prefix = fresh();
    const seen: unknown[] = [];
    const runtime = start(prefix, async (payload, ctx) => {
      seen.push({ payload, attempt: ctx.attempt });
      return { ok: payload.jobId };
    });
    await runtime.ready;
    const def = testJob(async () => null);
    const { id } = await enqueue(def, { jobId: 'abc' }, { prefix });
    const job = await waitForState(prefix, id, 'completed');
    expect(job.returnvalue).toEqual({ ok: 'abc' });
    expect(seen).toEqual([{ payload: { jobId: 'abc' }, attempt: 1 }]);
  });

  it('fails a payload that skipped enqueue validation, at once and with a clear error', async () => {
    const prefix = fresh();
    let called = false;
    const runtime = start(prefix, async () => {
      called = true;
    });
    await runtime.ready;
    // As an older producer or a hand-written Redis entry would: straight onto the queue, no validation.
    const raw = await getQueue('training', { prefix }).add('test.echo@1', { jobId: 42 }, { attempts: 3 });
    const job = await waitForState(prefix, raw.id as string, 'failed');
    expect(job.failedReason).toMatch(/^invalid_payload: test\.echo payload rejected by the worker: jobId: /);
    expect(job.attemptsMade).toBe(1); // no retries for input that cannot become valid
    expect(called).toBe(false);
  });

  it('fails a job it has no declaration for (unknown name or version)', async () => {
    const prefix = fresh();
    const runtime = start(prefix, async () => null);
    await runtime.ready;
    const raw = await getQueue('training', { prefix }).add('test.echo@2', { jobId: 'x' });
    const job = await waitForState(prefix, raw.id as string, 'failed');
    expect(job.failedReason).toMatch(/^unknown_job: .*"test\.echo@2"/);
  });

  it('turns a non-retryable JobError into an immediate failure carrying its code', async () => {
    const prefix = fresh();
    const runtime = start(prefix, async (p) => {
      throw new JobError('not_found', `No training job ${p.jobId}.`);
    });
    await runtime.ready;
    const { id } = await enqueue(
      testJob(async () => null),
      { jobId: 'gone' },
      { prefix },
    );
    const job = await waitForState(prefix, id, 'failed');
    expect(job.failedReason).toBe('not_found: No training job gone.');
    expect(job.attemptsMade).toBe(1);
  });

  it('on shutdown lets a running job finish within the grace period', async () => {
    const prefix = fresh();
    const runtime = start(
      prefix,
      async () => {
        await sleep(400);
        return 'finished';
      },
      { graceMs: 5_000 },
    );
    await runtime.ready;
    const { id } = await enqueue(
      testJob(async () => null),
      { jobId: 'short' },
      { prefix },
    );
    await waitForState(prefix, id, 'active');
    await runtime.closeRuntime();
    const s = await stateOf(prefix, id);
    expect(s?.state).toBe('completed');
    expect(s?.job.returnvalue).toBe('finished');
  });

  it('on shutdown hands an unfinished job back, and another worker finishes it', async () => {
    const prefix = fresh();
    let abortedWith: unknown;
    const first = start(
      prefix,
      (_p, ctx) =>
        new Promise((resolve) => {
          // A long job that honours its signal, as training does at a step boundary.
          ctx.signal.addEventListener('abort', () => {
            abortedWith = ctx.signal.reason;
            resolve('stopped early');
          });
        }),
      { graceMs: 300 },
    );
    await first.ready;
    const { id } = await enqueue(
      testJob(async () => null),
      { jobId: 'long' },
      { prefix },
    );
    await waitForState(prefix, id, 'active');
    expect(first.activeJobIds()).toEqual([id]);

    const t0 = Date.now();
    await first.closeRuntime();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(String(abortedWith)).toMatch(/shutting down/);
    expect((await stateOf(prefix, id))?.state).toBe('waiting'); // back in the queue, not failed, not lost

    const done: string[] = [];
    const second = start(prefix, async (p) => {
      done.push(p.jobId);
      return 'done by second';
    });
    await second.ready;
    const job = await waitForState(prefix, id, 'completed');
    expect(job.returnvalue).toBe('done by second');
    expect(done).toEqual(['long']);
    expect(job.attemptsMade).toBe(1); // one finished attempt: the hand-back did not count as a failure
  });

  it('hands a job back even when its handler ignores the abort signal', async () => {
    const prefix = fresh();
    const runtime = start(prefix, () => new Promise(() => {}), { graceMs: 200 });
    await runtime.ready;
    const { id } = await enqueue(
      testJob(async () => null),
      { jobId: 'stubborn' },
      { prefix },
    );
    await waitForState(prefix, id, 'active');
    await runtime.closeRuntime();
    expect((await stateOf(prefix, id))?.state).toBe('waiting');
  });

  it('closeRuntime is idempotent', async () => {
    const prefix = fresh();
    const runtime = start(prefix, async () => null);
    await runtime.ready;
    const a = runtime.closeRuntime();
    const b = runtime.closeRuntime();
    expect(a).toBe(b);
    await a;
    await runtime.closeRuntime();
  });
});

describe('heartbeats', () => {
  it('appear while a worker runs, carry its state, expire by TTL, and go on close', async () => {
    const prefix = fresh();
    const runtime = start(prefix, async () => null);
    await runtime.ready;
    const beats = await readWorkerHeartbeats({ prefix, redis });
    expect(beats).toHaveLength(1);
    expect(beats[0]).toMatchObject({
      kind: 'test',
      workerId: runtime.workerId,
      queue: 'training',
      status: 'running',
      pid: process.pid,
      activeJobs: [],
    });
    expect(beats[0].ageMs).toBeLessThan(5_000);
    const ttl = await redis.pttl(heartbeatKey(prefix, 'test', runtime.workerId));
    expect(ttl).toBeGreaterThan(20_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    // Another prefix sees nothing: the health route only reports its own deployment's workers.
    expect(await readWorkerHeartbeats({ prefix: `${prefix}-other`, redis })).toEqual([]);
    await runtime.closeRuntime();
    expect(await readWorkerHeartbeats({ prefix, redis })).toEqual([]);
  });

  it('reading them fails within its time limit when Redis does not answer, instead of hanging', async () => {
    const dead = createRedisConnection('redis://127.0.0.1:1', { lazyConnect: true });
    dead.removeAllListeners('error');
    dead.on('error', () => {}); // the refused connection is the point of this test
    const t0 = Date.now();
    await expect(readWorkerHeartbeats({ prefix: fresh(), redis: dead, timeoutMs: 500 })).rejects.toThrow(
      /did not answer within 500 ms/,
    );
    expect(Date.now() - t0).toBeLessThan(2_000);
    dead.disconnect();
  });

  it('of a killed worker process expire, while a live one keeps refreshing past its TTL', async () => {
    const prefix = fresh();
    const script = fileURLToPath(new URL('./fixtures/heartbeat-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, TEST_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await waitFor(
        'the child worker to be ready',
        async () => {
          const beats = await readWorkerHeartbeats({ prefix, redis });
          return beats.length === 1 ? beats : null;
        },
        20_000,
      );
      await sleep(3_000); // 1.5 TTLs: only refreshing keeps it there
      const alive = await readWorkerHeartbeats({ prefix, redis });
      expect(alive).toHaveLength(1);
      expect(alive[0]).toMatchObject({ kind: 'test-process', pid: child.pid });
      expect(alive[0].ageMs).toBeLessThan(2_000);
      child.kill('SIGKILL');
      await waitFor(
        "the dead worker's heartbeat to expire",
        async () => (await readWorkerHeartbeats({ prefix, redis })).length === 0,
        5_000,
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a worker process on SIGTERM hands its running job back and exits 0', async () => {
    const prefix = fresh();
    const script = fileURLToPath(new URL('./fixtures/heartbeat-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, TEST_PREFIX: prefix, TEST_GRACE_MS: '500' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the child worker to be ready', async () => output.includes('ready'), 20_000);
      const hang = defineJob({
        id: 'test.hang',
        version: 1,
        queue: 'training',
        schema: z.object({ jobId: z.string() }),
      });
      const { id } = await enqueue(hang, { jobId: 'in-flight' }, { prefix });
      await waitForState(prefix, id, 'active');
      child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
      expect(output).toMatch(/SIGTERM: shutting down gracefully/);
      expect(output).toMatch(new RegExp(`job ${id} handed back`));
      expect(await getQueue('training', { prefix }).getJobState(id)).toBe('waiting');
      expect(await readWorkerHeartbeats({ prefix, redis })).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a job whose worker process was killed outright goes back to the queue and another worker finishes it', async () => {
    const prefix = fresh();
    const script = fileURLToPath(new URL('./fixtures/heartbeat-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, TEST_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    let id = '';
    try {
      await waitFor('the child worker to be ready', async () => output.includes('ready'), 20_000);
      const hang = defineJob({
        id: 'test.hang',
        version: 1,
        queue: 'training',
        schema: z.object({ jobId: z.string() }),
      });
      id = (await enqueue(hang, { jobId: 'crash' }, { prefix })).id;
      await waitForState(prefix, id, 'active');
      child.kill('SIGKILL'); // no shutdown code runs: only the expiring lock tells the others
    } finally {
      child.kill('SIGKILL');
    }
    const finished: string[] = [];
    const rescuer = createWorkerRuntime({
      kind: 'test',
      queue: 'training',
      jobs: [
        defineJob({
          id: 'test.hang',
          version: 1,
          queue: 'training',
          schema: z.object({ jobId: z.string() }),
          handler: async () => ({
            default: async (p: { jobId: string }) => {
              finished.push(p.jobId);
              return 'rescued';
            },
          }),
        }),
      ],
      prefix,
      handleSignals: false,
      lockTiming: { lockDuration: 1_000, stalledInterval: 500 },
      log: () => {},
    });
    runtimes.push(rescuer);
    await rescuer.ready;
    const job = await waitForState(prefix, id, 'completed', 15_000);
    expect(job.returnvalue).toBe('rescued');
    expect(finished).toEqual(['crash']);
  });
});
