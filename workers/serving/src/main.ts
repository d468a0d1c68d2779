// The serving worker: takes `deployments` jobs (start, stop, restart) from Redis. Started by `npm start` (root) or
// `npm start -w @crucible/worker-serving`; stops gracefully on SIGTERM/SIGINT (exit 0).
import { disconnectAll } from '@crucible/db';
import { createWorkerRuntime, QUEUE_NAMES } from '@crucible/jobs';
import { loadServingEnv } from './env';
import { servingJobs } from './jobs';

const log = (message: string) => console.log(`[serving] ${message}`);

let env: ReturnType<typeof loadServingEnv>;
try {
  env = loadServingEnv();
} catch (error) {
  // A wrong setting is a sentence, not a stack trace.
  console.error(`[serving] ${(error as Error).message}`);
  process.exit(1);
}

process.on('unhandledRejection', (reason) => {
  console.error('[serving] unhandled rejection:', reason);
});

const runtime = createWorkerRuntime({
  kind: 'serving',
  queue: QUEUE_NAMES.deployments,
  jobs: servingJobs,
  concurrency: env.SERVING_CONCURRENCY,
  shutdownGraceMs: env.SERVING_SHUTDOWN_GRACE_MS,
  onSignalClosed: () => disconnectAll(),
});

runtime.ready.then(
  () => log(`ready (storage: ${env.storage.driver}, redis prefix: ${env.jobs.REDIS_PREFIX})`),
  async (error) => {
    console.error(`[serving] cannot start: ${(error as Error).message} (is Redis running at ${env.jobs.REDIS_URL}?)`);
    await runtime.closeRuntime({ graceMs: 0 }).catch(() => {});
    process.exit(1);
  },
);
