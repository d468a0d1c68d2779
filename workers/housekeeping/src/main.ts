// The housekeeping worker: takes `housekeeping` jobs — dataset imports, base-model downloads, model exports, the
// repeatable billing accrual (deployment hours, storage, budget checks and their e-mails) and the repeatable expiry
// of request logs and of unfinished model uploads. Started by `npm start` (root) or `npm start -w
// @crucible/worker-housekeeping`; stops gracefully on SIGTERM/SIGINT (exit 0).
import { join } from 'node:path';
import { describeSmtpUrl } from '@crucible/billing';
import { disconnectAll } from '@crucible/db';
import { closeQueues, closeRedisConnection, createWorkerRuntime, QUEUE_NAMES } from '@crucible/jobs';
import { createStorageFromConfig, findRepoRoot } from '@crucible/storage';
import { forgetLegacyBillingSchedule, scheduleBillingAccrual } from './billing-accrual';
import { closeHousekeepingContext, configureHousekeeping, housekeepingContext } from './context';
import { loadHousekeepingEnv } from './env';
import { housekeepingJobs } from './jobs';
import { scheduleModelUploadExpiry } from './model-uploads';
import { scheduleRequestLogExpiry } from './request-logs';

const log = (message: string) => console.log(`[housekeeping] ${message}`);

let env: ReturnType<typeof loadHousekeepingEnv>;
try {
  env = loadHousekeepingEnv();
} catch (error) {
  // A wrong setting is a sentence, not a stack trace.
  console.error(`[housekeeping] ${(error as Error).message}`);
  process.exit(1);
}

process.on('unhandledRejection', (reason) => {
  console.error('[housekeeping] unhandled rejection:', reason);
});

configureHousekeeping({
  storage: createStorageFromConfig(env.storage),
  cacheDir: env.HOUSEKEEPING_CACHE_DIR ?? join(findRepoRoot(), '.data', 'housekeeping-cache'),
  mail: env.mail,
  modelsSharedDir: env.MODELS_SHARED_DIR || null,
  hubEndpoints: {
    ...(env.HF_ENDPOINT ? { huggingface: env.HF_ENDPOINT } : {}),
    ...(env.MODELSCOPE_ENDPOINT ? { modelscope: env.MODELSCOPE_ENDPOINT } : {}),
  },
});

const runtime = createWorkerRuntime({
  kind: 'housekeeping',
  queue: QUEUE_NAMES.housekeeping,
  jobs: housekeepingJobs,
  concurrency: env.HOUSEKEEPING_CONCURRENCY,
  shutdownGraceMs: env.HOUSEKEEPING_SHUTDOWN_GRACE_MS,
  onSignalClosed: async () => {
    closeHousekeepingContext();
    await closeQueues();
    await closeRedisConnection();
    await disconnectAll();
  },
});

async function boot() {
  await runtime.ready;
  const { mailer } = housekeepingContext();
  log(
    mailer
      ? `billing: budget alerts are e-mailed${env.mail.SMTP_URL ? ` through ${describeSmtpUrl(env.mail.SMTP_URL)}` : ''}`
      : 'billing: SMTP_URL is not set; budget alerts are shown in the console and audit log but not e-mailed',
  );
  await scheduleBillingAccrual(env.BILLING_ACCRUE_EVERY_MS).catch((e) =>
    console.error(`[housekeeping] billing accrual not scheduled: ${(e as Error).message}`),
  );
  await scheduleRequestLogExpiry(env.REQUEST_LOGS_EXPIRE_EVERY_MS).catch((e) =>
    console.error(`[housekeeping] request-log expiry not scheduled: ${(e as Error).message}`),
  );
  await scheduleModelUploadExpiry(env.MODEL_UPLOADS_EXPIRE_EVERY_MS).catch((e) =>
    console.error(`[housekeeping] model-upload expiry not scheduled: ${(e as Error).message}`),
  );
  await forgetLegacyBillingSchedule(env.jobs.REDIS_PREFIX).catch(() => {});
  log(`ready (storage: ${env.storage.driver}, redis prefix: ${env.jobs.REDIS_PREFIX})`);
}

boot().catch(async (error) => {
  console.error(
    `[housekeeping] cannot start: ${(error as Error).message} (is Redis running at ${env.jobs.REDIS_URL}?)`,
  );
  await runtime.closeRuntime({ graceMs: 0 }).catch(() => {});
  process.exit(1);
});
