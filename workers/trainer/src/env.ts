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

export const ZTrainerEnv = z.object({
  /** Jobs this process runs at once. Training uses every core: 1 unless the machine has room for more. */
  TRAINER_CONCURRENCY: int(1, 1, 64),
  /** Scratch folder for job files (model, data, checkpoints); one sub-folder per job, removed when it ends. */
  TRAINER_SCRATCH_DIR: z.string().optional(),
  /** How long a running job may keep going after SIGTERM before it is handed back to the queue. */
  TRAINER_SHUTDOWN_GRACE_MS: int(QUEUE_DEFAULTS.shutdownGraceMs, 0, 600_000),
  /** `nice` of the training process, so serving on the same cores keeps its speed (0: normal priority). */
  TRAINER_NICE: int(10, -20, 19),
});
export type TTrainerEnv = z.infer<typeof ZTrainerEnv>;

/**
 * Everything the trainer reads, validated at boot: its own settings plus the queue, database and storage env
 * (checked now so a wrong setting stops the worker with a sentence instead of failing the first job).
 */
export function loadTrainerEnv(env: Record<string, string | undefined> = process.env) {
  return {
    ...parseSettings(ZTrainerEnv, 'trainer', env),
    jobs: loadJobsEnv(env),
    db: readDbEnv(env as NodeJS.ProcessEnv),
    storage: loadStorageConfig(env),
  };
}
