import { createWorkerRuntime } from '@crucible/jobs';
import { servingJobs } from '../src/jobs';

/** The deployments queue consumed in this test process, as the serving worker consumes it (no signal handlers). */
export async function startServingRuntime(prefix: string) {
  const runtime = createWorkerRuntime({
    kind: 'serving',
    queue: 'deployments',
    jobs: servingJobs,
    prefix,
    handleSignals: false,
    log: () => {},
  });
  await runtime.ready;
  return runtime;
}
