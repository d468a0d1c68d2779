import { randomUUID } from 'node:crypto';
import { disconnectAll } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  closeQueues,
  createRedisConnection,
  createWorkerRuntime,
  QUEUE_NAMES,
  type TLogger,
  type TWorkerRuntime,
} from '@crucible/jobs';
import { afterAll, beforeAll } from 'vitest';
import { closeHousekeepingContext } from '../src/context';
import { housekeepingJobs } from '../src/jobs';

/** The housekeeping queue consumed in this test process, as the worker consumes it (no signal handlers). */
export async function startHousekeepingRuntime(
  prefix: string,
  options: { log?: TLogger; lockTiming?: Parameters<typeof createWorkerRuntime>[0]['lockTiming'] } = {},
) {
  const runtime = createWorkerRuntime({
    kind: 'housekeeping',
    queue: QUEUE_NAMES.housekeeping,
    jobs: housekeepingJobs,
    prefix,
    concurrency: 2,
    handleSignals: false,
    log: options.log ?? (() => {}),
    lockTiming: options.lockTiming,
  });
  await runtime.ready;
  return runtime;
}

/**
 * For a test file of one repeatable chore: a fresh Postgres database (DATABASE_URL points at it while the file runs)
 * and a Redis prefix of its own; `start()` consumes the housekeeping queue as the worker does. After the file the
 * runtime, queues, keys and database are gone.
 */
export function choreTestBed() {
  const bed = {
    prefix: `crucible-test-${randomUUID().slice(0, 12)}`,
    db: undefined as unknown as TTestDatabase,
    runtime: null as TWorkerRuntime | null,
    start: async () => {
      bed.runtime = await startHousekeepingRuntime(bed.prefix);
      return bed.runtime;
    },
  };
  const redis = createRedisConnection();
  const savedUrl = process.env.DATABASE_URL;
  beforeAll(async () => {
    bed.db = await createTestDatabase();
    process.env.DATABASE_URL = bed.db.url;
  });
  afterAll(async () => {
    await bed.runtime?.closeRuntime({ graceMs: 0 });
    await closeQueues();
    closeHousekeepingContext();
    const keys = await redis.keys(`${bed.prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await disconnectAll();
    await bed.db?.drop();
    process.env.DATABASE_URL = savedUrl;
  });
  return bed;
}
