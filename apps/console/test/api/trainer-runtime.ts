/**
 * A trainer worker (workers/trainer, through the packages/jobs runtime) in the test's process, on the test's Redis
 * prefix, for the API tests that train; and the teardown they share.
 */
import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { dropPrefix } from '@crucible/jobs/testing';
import { dropTestStorage, stopHousekeeping } from './datasets-helpers';
import { stopTestDatabase } from './helpers';

type TRuntime = { closeRuntime(o?: { graceMs?: number }): Promise<void>; ready: Promise<void> };

export async function startTrainer(prefix: string): Promise<TRuntime> {
  const { createWorkerRuntime } = await import('@crucible/jobs');
  const { trainerJobs } = await import('../../../../workers/trainer/src/jobs');
  const runtime = createWorkerRuntime({
    kind: 'trainer',
    queue: 'training',
    jobs: trainerJobs,
    prefix,
    handleSignals: false,
    log: () => {},
  }) as unknown as TRuntime;
  await runtime.ready;
  return runtime;
}

/**
 * A training test file's teardown: its OpenAI server, the trainer and housekeeping workers, the queues and every
 * Redis key of the prefix, its database, its bucket and scratch folder; then the environment it started with.
 */
export async function tearDownTraining(o: {
  server?: Server;
  runtime: TRuntime | undefined;
  prefix: string;
  scratch: string;
  env: NodeJS.ProcessEnv;
}): Promise<void> {
  await new Promise((resolve) => (o.server ? o.server.close(resolve) : resolve(undefined)));
  await o.runtime?.closeRuntime({ graceMs: 0 });
  await stopHousekeeping();
  const jobs = await import('@crucible/jobs');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, o.prefix);
  await redis.quit();
  await jobs.closeRedisConnection();
  await stopTestDatabase();
  await dropTestStorage();
  rmSync(o.scratch, { recursive: true, force: true });
  process.env = o.env;
}
