// The serving worker: hosts GGUF models with llama.cpp behind an internal HTTP API (src/server.ts), registers itself
// in Redis for the console's gateway, takes `deployments` jobs (start, stop, restart) and `evaluations` jobs
// (evaluation runs on the same engine, src/evaluations.ts). Started by `npm start`
// (root) or `npm start -w @crucible/worker-serving`; stops gracefully on SIGTERM/SIGINT (exit 0).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { disconnectAll } from '@crucible/db';
import { createRedisConnection, createWorkerRuntime, QUEUE_NAMES } from '@crucible/jobs';
import { createStorageFromConfig, findRepoRoot } from '@crucible/storage';
import { createEngine } from './engine';
import { defaultServingThreads, loadServingEnv } from './env';
import { startEvaluationRuntime } from './evaluations';
import { createServingHost, setServingHost } from './host';
import { servingJobs } from './jobs';
import { startServingServer } from './server';

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

const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
const engine = createEngine({
  storage: createStorageFromConfig(env.storage),
  cacheDir: env.SERVING_CACHE_DIR ?? join(findRepoRoot(), '.data', 'serving-cache'),
  maxAdapters: env.SERVING_MAX_ADAPTERS,
  contextSize: env.SERVING_CONTEXT_SIZE,
  gpu: env.SERVING_GPU === 'cpu' ? false : 'auto',
  ggufType: env.SERVING_GGUF_TYPE,
  threads: env.SERVING_THREADS || defaultServingThreads(),
  queuePerSequence: env.SERVING_QUEUE_PER_SEQUENCE,
  queueTimeoutMs: env.SERVING_QUEUE_TIMEOUT_MS,
  log,
});
const redis = createRedisConnection(env.jobs.REDIS_URL);
let host: ReturnType<typeof createServingHost> | null = null;
let httpServer: import('node:http').Server | null = null;

const evaluations = startEvaluationRuntime({
  engine,
  workerId,
  concurrency: env.SERVING_EVALUATION_CONCURRENCY,
  shutdownGraceMs: env.SERVING_SHUTDOWN_GRACE_MS,
});
// The deployments runtime owns the signal handlers and exits after onSignalClosed; the evaluations runtime starts
// handing back at the same signal, so both grace periods run side by side (not one after the other).
const closeEvaluations = () => void evaluations.closeRuntime();
process.once('SIGTERM', closeEvaluations);
process.once('SIGINT', closeEvaluations);

const runtime = createWorkerRuntime({
  kind: 'serving',
  queue: QUEUE_NAMES.deployments,
  jobs: servingJobs,
  workerId,
  concurrency: env.SERVING_CONCURRENCY,
  shutdownGraceMs: env.SERVING_SHUTDOWN_GRACE_MS,
  onSignalClosed: async () => {
    await evaluations.closeRuntime();
    await host?.close();
    httpServer?.close();
    httpServer?.closeAllConnections();
    await engine.dispose().catch(() => {});
    await redis.quit().catch(() => {});
    await disconnectAll();
  },
});

async function boot() {
  const started = await startServingServer(engine, { port: env.SERVING_PORT, host: env.SERVING_HOST, log });
  httpServer = started.server;
  host = createServingHost({
    engine,
    redis,
    prefix: env.jobs.REDIS_PREFIX,
    workerId,
    url: env.SERVING_PUBLIC_URL ?? started.url,
    log,
    heartbeatMs: env.SERVING_HEARTBEAT_MS,
    registryTtlS: env.SERVING_REGISTRY_TTL_S,
    healthEveryMs: env.SERVING_HEALTH_EVERY_MS,
    healthTimeoutMs: env.SERVING_HEALTH_TIMEOUT_MS,
  });
  setServingHost(host);
  // The first reconcile adopts the replicas a previous run of this worker held: a restart loses no deployment.
  await host.beginHeartbeat();
  log(`serving API at ${host.url}`);
  await runtime.ready;
  await evaluations.ready;
  log(`ready (storage: ${env.storage.driver}, redis prefix: ${env.jobs.REDIS_PREFIX})`);
}

boot().catch(async (error) => {
  console.error(`[serving] cannot start: ${(error as Error).message} (is Redis running at ${env.jobs.REDIS_URL}?)`);
  await runtime.closeRuntime({ graceMs: 0 }).catch(() => {});
  await evaluations.closeRuntime({ graceMs: 0 }).catch(() => {});
  process.exit(1);
});
