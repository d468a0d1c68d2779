import { availableParallelism } from 'node:os';
import { readDbEnv } from '@crucible/db';
import { loadJobsEnv, parseSettings, QUEUE_DEFAULTS } from '@crucible/jobs';
import { loadStorageConfig } from '@crucible/storage';
import { z } from 'zod';

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? String(fallback) : v.trim()))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const ZServingEnv = z.object({
  /** Deployment actions this process handles at once (short control jobs: start, stop, restart). */
  SERVING_CONCURRENCY: int(4, 1, 64),
  /** Evaluation runs this process works on at once (each answers row after row on the model engine). */
  SERVING_EVALUATION_CONCURRENCY: int(1, 1, 16),
  /** How long a running job may keep going after SIGTERM before it is handed back to the queue. */
  SERVING_SHUTDOWN_GRACE_MS: int(QUEUE_DEFAULTS.shutdownGraceMs, 0, 600_000),
  /** The internal HTTP API the console calls (0 = any free port). */
  SERVING_PORT: int(3101, 0, 65_535),
  /** Bind address; 127.0.0.1 keeps the unauthenticated internal API off the network. */
  SERVING_HOST: z.string().optional().default('127.0.0.1'),
  /** The URL the console should use to reach this worker (default: http://SERVING_HOST:port). */
  SERVING_PUBLIC_URL: z.string().url().optional(),
  /** Where converted GGUF bases and downloaded adapters are cached (default .data/serving-cache under the repo). */
  SERVING_CACHE_DIR: z.string().optional(),
  /** Fine-tuned adapters kept loaded at once; the least recently used idle one beyond this is evicted. */
  SERVING_MAX_ADAPTERS: int(8, 1, 1024),
  /** Context size of a served model (capped by the model's own). */
  SERVING_CONTEXT_SIZE: int(2048, 64, 1_048_576),
  /** GGUF type a base is converted to. */
  SERVING_GGUF_TYPE: z.enum(['F32', 'F16', 'Q8_0']).optional().default('F16'),
  /** auto: CUDA/Vulkan/Metal when present, else CPU; cpu: always CPU. */
  SERVING_GPU: z.enum(['auto', 'cpu']).optional().default('auto'),
  /** llama.cpp threads (0 = half the cores, see defaultServingThreads). */
  SERVING_THREADS: int(0, 0, 1024),
  /** How often this worker refreshes its registry entry and reconciles its deployment replicas with the database. */
  SERVING_HEARTBEAT_MS: int(5_000, 100, 600_000),
  /** A worker whose registry entry is this old is gone: others adopt its replicas (fail-over after a crash or hang). */
  SERVING_REGISTRY_TTL_S: int(30, 1, 3_600),
  /** How often a deployment's replicas are health-checked (a one-token generation). */
  SERVING_HEALTH_EVERY_MS: int(30_000, 100, 3_600_000),
  /** A health check that has no token within this long fails (a hung or overloaded replica). */
  SERVING_HEALTH_TIMEOUT_MS: int(30_000, 10, 600_000),
  /** Requests that may wait per sequence of a model before new ones are refused at once (503 + Retry-After). */
  SERVING_QUEUE_PER_SEQUENCE: int(16, 0, 10_000),
  /** How long a request may wait for a sequence before it is refused as overloaded. */
  SERVING_QUEUE_TIMEOUT_MS: int(60_000, 100, 3_600_000),
});
/**
 * llama.cpp threads when SERVING_THREADS is not set: half the cores (at least 1). Its threads meet at a barrier many
 * times per token, so on cores shared with a training job every barrier waits for a core: on 2 cores with a job
 * training beside it (nice 10), 2 threads kept 23% of their idle chat tokens/s and 1 thread 90% (bench/beside.ts,
 * docs/BENCHMARKS.md); alone, 1 thread does ~75% of 2.
 */
export function defaultServingThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

export type TServingEnv = z.infer<typeof ZServingEnv>;

/**
 * Everything the serving worker reads, validated at boot: its own settings plus the queue, database and storage env
 * (checked now so a wrong setting stops the worker with a sentence instead of failing the first job).
 */
export function loadServingEnv(env: Record<string, string | undefined> = process.env) {
  return {
    ...parseSettings(ZServingEnv, 'serving', env),
    jobs: loadJobsEnv(env),
    db: readDbEnv(env as NodeJS.ProcessEnv),
    storage: loadStorageConfig(env),
  };
}
