import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { createRedisConnection, readWorkerHeartbeats } from '@crucible/jobs';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** The worker as `npm start` runs it: a real process, a real Redis, a real signal. */

const redis = createRedisConnection();
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
// A database of its own (issue 17): booted with the ambient DATABASE_URL (the developer's `crucible` under npm test)
// the worker reconciled, adopted and failed the live replicas of that install's workers.
let db: TTestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await redis.quit();
  await db?.drop();
});

async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('boots, heartbeats, and exits 0 within the grace period on SIGTERM', async () => {
  const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
  const graceMs = 5_000;
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      SERVING_SHUTDOWN_GRACE_MS: String(graceMs),
      SERVING_CONCURRENCY: '2',
      SERVING_PORT: '0',
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
    const beats = await waitFor(
      'the serving heartbeat',
      async () => {
        const b = await readWorkerHeartbeats({ prefix, redis, kind: 'serving' });
        return b.length ? b : null;
      },
      30_000,
    );
    expect(beats).toHaveLength(1);
    expect(beats[0]).toMatchObject({
      kind: 'serving',
      queue: 'deployments',
      pid: child.pid,
      status: 'running',
      concurrency: 2,
    });
    // Log lines are prefixed; the heartbeat can land in Redis before the first line crosses the pipe, so wait for it.
    await waitFor('a prefixed log line', async () => /^\[serving\] /m.test(output), 10_000);

    const t0 = Date.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    const took = Date.now() - t0;
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(graceMs); // nothing was running: it stops well inside the grace period
    expect(output).toMatch(/\[serving\] SIGTERM: shutting down gracefully/);
    // A clean stop removes its heartbeat at once instead of leaving it to expire.
    expect(await readWorkerHeartbeats({ prefix, redis })).toEqual([]);
  } finally {
    child.kill('SIGKILL');
    await exited;
    // The worker's queue keys (meta, ...) under the test's own prefix.
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
});

it('refuses to boot with a wrong setting, naming it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, SERVING_CONCURRENCY: 'lots' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(1);
  expect(output).toMatch(/Invalid serving configuration: SERVING_CONCURRENCY/);
});
