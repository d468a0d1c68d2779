import { loadMailEnv } from '@crucible/billing';
import { readDatasetLimits } from '@crucible/dataset-store';
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

/** An empty value (a `.env` line left blank) is unset. */
const optionalUrl = (message: string) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.url(message).optional());

export const ZHousekeepingEnv = z.object({
  /**
   * Jobs this process runs at once: dataset imports and model exports take seconds to minutes; 2 lets a short one
   * (an import, the billing run) go on beside a long export.
   */
  HOUSEKEEPING_CONCURRENCY: int(2, 1, 64),
  /** How long a running job may keep going after SIGTERM before it is handed back to the queue. */
  HOUSEKEEPING_SHUTDOWN_GRACE_MS: int(QUEUE_DEFAULTS.shutdownGraceMs, 0, 600_000),
  /** Where model exports download the models they merge or convert (default .data/housekeeping-cache). */
  HOUSEKEEPING_CACHE_DIR: z.string().optional(),
  /** How often the shared repeatable job charges deployment hours and storage (idempotent, so often is cheap). */
  BILLING_ACCRUE_EVERY_MS: int(300_000, 10_000, 86_400_000),
  /** How often the shared repeatable job deletes request logs past their retention (issue 16). */
  REQUEST_LOGS_EXPIRE_EVERY_MS: int(3_600_000, 10_000, 86_400_000),
  /** How often the shared repeatable job cancels model archive uploads left unfinished (MODEL_UPLOAD_EXPIRE_DAYS). */
  MODEL_UPLOADS_EXPIRE_EVERY_MS: int(3_600_000, 10_000, 86_400_000),
  /** "Add base model" from a folder: the folder the workers' shared storage is mounted at (unset: not offered). */
  MODELS_SHARED_DIR: z.string().optional(),
  /** Hub base URLs for "Add base model" (a mirror, or a local hub-shaped server in tests), as huggingface_hub reads them. */
  HF_ENDPOINT: optionalUrl('HF_ENDPOINT must be a URL such as https://huggingface.co'),
  MODELSCOPE_ENDPOINT: optionalUrl('MODELSCOPE_ENDPOINT must be a URL such as https://www.modelscope.cn'),
});
export type THousekeepingEnv = z.infer<typeof ZHousekeepingEnv>;

/**
 * Everything the housekeeping worker reads, validated at boot: its own settings plus the queue, database, storage,
 * mail and dataset-limit env (checked now so a wrong setting stops the worker with a sentence instead of failing the
 * first job).
 */
export function loadHousekeepingEnv(env: Record<string, string | undefined> = process.env) {
  return {
    ...parseSettings(ZHousekeepingEnv, 'housekeeping', env),
    jobs: loadJobsEnv(env),
    db: readDbEnv(env as NodeJS.ProcessEnv),
    storage: loadStorageConfig(env),
    /** SMTP_URL / MAIL_FROM / APP_URL for budget alert e-mails; no SMTP_URL = alerts are recorded, not mailed. */
    mail: loadMailEnv(env),
    /** DATASET_MAX_* and DATASET_CUTOFF_LEN: what an import accepts (the console shows the same numbers). */
    datasetLimits: readDatasetLimits(env),
  };
}
