// The trainer worker: takes `training` jobs from Redis and runs them. Started by `npm start` (root) or
// `npm start -w @crucible/worker-trainer`; stops gracefully on SIGTERM/SIGINT (exit 0).
import { disconnectAll } from '@crucible/db';
import { createWorkerRuntime, QUEUE_NAMES } from '@crucible/jobs';
import { loadTrainerEnv } from './env';
import { trainerJobs } from './jobs';

const log = (message: string) => console.log(`[trainer] ${message}`);

let env: ReturnType<typeof loadTrainerEnv>;
try {
  env = loadTrainerEnv();
} catch (error) {
  // A wrong setting is a sentence, not a stack trace.
  console.error(`[trainer] ${(error as Error).message}`);
  process.exit(1);
}

process.on('unhandledRejection', (reason) => {
  console.error('[trainer] unhandled rejection:', reason);
});

const runtime = createWorkerRuntime({
  kind: 'trainer',
  queue: QUEUE_NAMES.training,
  jobs: trainerJobs,
  concurrency: env.TRAINER_CONCURRENCY,
  shutdownGraceMs: env.TRAINER_SHUTDOWN_GRACE_MS,
  onSignalClosed: () => disconnectAll(),
});

runtime.ready.then(
  () => log(`ready (storage: ${env.storage.driver}, redis prefix: ${env.jobs.REDIS_PREFIX})`),
  async (error) => {
    console.error(`[trainer] cannot start: ${(error as Error).message} (is Redis running at ${env.jobs.REDIS_URL}?)`);
    await runtime.closeRuntime({ graceMs: 0 }).catch(() => {});
    process.exit(1);
  },
);
