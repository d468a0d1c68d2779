import { join } from 'node:path';
import { createSmtpMailer, loadMailEnv, type TMailEnv, type TMailer } from '@crucible/billing';
import { findRepoRoot, getStorage, type Storage } from '@crucible/storage';
import type { TRetryOptions } from '@crucible/trainer/hub/http';

/**
 * What the housekeeping handlers share in one process: storage, the export cache folder and the budget-alert
 * mailer. main.ts configures it from the validated env; a test configures its own (a mail transport that records,
 * a storage folder). Anything not configured comes from the environment on first use.
 */
export type THousekeepingContext = {
  storage: Storage;
  /** Model exports download the models they merge or convert here. */
  cacheDir: string;
  mail: TMailEnv;
  /** null: no SMTP_URL; budget alerts are recorded and marked skipped, not mailed. */
  mailer: TMailer | null;
  /** The workers' shared folder "Add base model" reads folders from (MODELS_SHARED_DIR); null: none. */
  modelsSharedDir: string | null;
  /** Hub base URLs (HF_ENDPOINT, MODELSCOPE_ENDPOINT); absent: huggingface.co and modelscope.cn. */
  hubEndpoints: Partial<Record<'huggingface' | 'modelscope', string>>;
  /** The hub downloader's retries (tests shorten its backoff); absent: its defaults (5 tries, 1 s doubling). */
  hubRetry?: Partial<TRetryOptions>;
};

let configured: Partial<THousekeepingContext> = {};
let resolved: THousekeepingContext | null = null;
/** Whether the mailer was made here (then it is closed here), not handed in by the caller. */
let ownsMailer = false;

function release(): void {
  if (ownsMailer) resolved?.mailer?.close();
  resolved = null;
}

export function configureHousekeeping(context: Partial<THousekeepingContext>): void {
  release();
  configured = { ...context };
}

export function housekeepingContext(): THousekeepingContext {
  if (resolved) return resolved;
  const mail = configured.mail ?? loadMailEnv();
  resolved = {
    storage: configured.storage ?? getStorage(),
    cacheDir:
      configured.cacheDir ?? process.env.HOUSEKEEPING_CACHE_DIR ?? join(findRepoRoot(), '.data', 'housekeeping-cache'),
    mail,
    mailer: configured.mailer !== undefined ? configured.mailer : createSmtpMailer(mail),
    modelsSharedDir:
      configured.modelsSharedDir !== undefined ? configured.modelsSharedDir : process.env.MODELS_SHARED_DIR || null,
    hubEndpoints: configured.hubEndpoints ?? {},
    hubRetry: configured.hubRetry,
  };
  ownsMailer = configured.mailer === undefined;
  return resolved;
}

/** Closes the mailer (shutdown, the end of a test). The next use configures afresh from the environment. */
export function closeHousekeepingContext(): void {
  release();
  configured = {};
}
