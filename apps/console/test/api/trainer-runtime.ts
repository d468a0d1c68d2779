/**
 * A trainer worker (workers/trainer, through the packages/jobs runtime) in the test's process, on the test's Redis
 * prefix, for the API tests that train; and the teardown they share: the worker, the housekeeping worker, the
 * queues and every Redis key of the prefix.
 */
import { dropPrefix } from '@crucible/jobs/testing';
import { stopHousekeeping } from './datasets-helpers';

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

export async function stopWorkersAndRedis(runtime: TRuntime | undefined, prefix: string): Promise<void> {
  await runtime?.closeRuntime({ graceMs: 0 });
  await stopHousekeeping();
  const jobs = await import('@crucible/jobs');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await jobs.closeRedisConnection();
}
