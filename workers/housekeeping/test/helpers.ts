import { createWorkerRuntime, QUEUE_NAMES, type TLogger } from '@crucible/jobs';
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
