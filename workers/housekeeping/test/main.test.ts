import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  BILLING_ACCRUE_SCHEDULER_ID,
  closeQueues,
  createRedisConnection,
  getQueue,
  MODEL_UPLOADS_EXPIRE_SCHEDULER_ID,
  QUEUE_NAMES,
  REQUEST_LOGS_EXPIRE_SCHEDULER_ID,
  readWorkerHeartbeats,
} from '@crucible/jobs';
import { dropPrefix } from '@crucible/jobs/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** The worker as `npm start` runs it: a real process, a real Redis, a real signal. */

const redis = createRedisConnection();
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
let db: TTestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await closeQueues();
  await redis.quit();
  await db?.drop();
});

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('boots, heartbeats, schedules the billing accrual, runs it, and exits 0 on SIGTERM', async () => {
  const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
  const graceMs = 5_000;
  // A schedule the serving workers registered before issue 17: removed at boot (nothing consumes that queue now).
  const legacy = getQueue('billing' as never, { prefix });
  await legacy.upsertJobScheduler(BILLING_ACCRUE_SCHEDULER_ID, { every: 600_000 }, { name: 'billing.accrue' });
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      HOUSEKEEPING_SHUTDOWN_GRACE_MS: String(graceMs),
      HOUSEKEEPING_CONCURRENCY: '3',
      SMTP_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  try {
    await waitFor('the worker to be ready', async () => /\[housekeeping\] ready/.test(output), 60_000);
    const beats = await readWorkerHeartbeats({ prefix, redis, kind: 'housekeeping' });
    expect(beats).toHaveLength(1);
    expect(beats[0]).toMatchObject({ queue: 'housekeeping', pid: child.pid, status: 'running', concurrency: 3 });
    expect(output).toMatch(/\[housekeeping\] billing: SMTP_URL is not set; budget alerts are shown/);
    const queue = getQueue(QUEUE_NAMES.housekeeping, { prefix });
    expect((await queue.getJobSchedulers()).map((s) => [s.key, s.every]).sort()).toEqual([
      [BILLING_ACCRUE_SCHEDULER_ID, 300_000],
      [MODEL_UPLOADS_EXPIRE_SCHEDULER_ID, 3_600_000],
      [REQUEST_LOGS_EXPIRE_SCHEDULER_ID, 3_600_000],
    ]);
    // Its first run is at once, on this worker.
    await waitFor('the first billing run', async () => (await queue.getJobs(['completed'])).length > 0, 30_000);
    expect(await legacy.getJobSchedulersCount()).toBe(0);

    const t0 = Date.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(graceMs); // nothing was running: it stops well inside the grace period
    expect(output).toMatch(/\[housekeeping\] SIGTERM: shutting down gracefully/);
    expect(await readWorkerHeartbeats({ prefix, redis })).toEqual([]);
  } finally {
    child.kill('SIGKILL');
    await exited;
    await dropPrefix(redis, prefix);
  }
}, 90_000);

it('refuses to boot with a wrong setting, naming it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, HOUSEKEEPING_CONCURRENCY: 'lots' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(1);
  expect(output).toMatch(/Invalid housekeeping configuration: HOUSEKEEPING_CONCURRENCY/);
});
