import { readDbEnv } from '@crucible/db';
import { loadJobsEnv, QUEUE_DEFAULTS } from '@crucible/jobs';
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
  /** How long a running job may keep going after SIGTERM before it is handed back to the queue. */
  SERVING_SHUTDOWN_GRACE_MS: int(QUEUE_DEFAULTS.shutdownGraceMs, 0, 600_000),
});
export type TServingEnv = z.infer<typeof ZServingEnv>;

/**
 * Everything the serving worker reads, validated at boot: its own settings plus the queue, database and storage env
 * (checked now so a wrong setting stops the worker with a sentence instead of failing the first job).
 */
export function loadServingEnv(env: Record<string, string | undefined> = process.env) {
  const parsed = ZServingEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid serving configuration: ${lines.join('; ')}`);
  }
  return {
    ...parsed.data,
    jobs: loadJobsEnv(env),
    db: readDbEnv(env as NodeJS.ProcessEnv),
    storage: loadStorageConfig(env),
  };
}
