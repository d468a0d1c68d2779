import { VALIDATION_DEFAULTS } from '@crucible/datasets';
import { z } from 'zod';

// Upload limits, configurable by env and shown to people before they upload (GET .../datasets/limits).

const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const ZDatasetLimitsEnv = z.object({
  DATASET_MAX_BYTES: int(VALIDATION_DEFAULTS.maxBytes),
  DATASET_MAX_ROWS: int(VALIDATION_DEFAULTS.maxRows),
  DATASET_MAX_ROW_BYTES: int(VALIDATION_DEFAULTS.maxRowBytes),
  DATASET_MAX_TOKENS_PER_ROW: int(VALIDATION_DEFAULTS.maxTokensPerRow),
  DATASET_MAX_XLSX_BYTES: int(VALIDATION_DEFAULTS.maxXlsxBytes),
  /** Rows over this many tokens are counted as "over the cutoff" in the statistics (LLaMA-Factory's cutoff_len). */
  DATASET_CUTOFF_LEN: int(2048),
});

export type TDatasetLimits = {
  maxBytes: number;
  maxRows: number;
  maxRowBytes: number;
  maxTokensPerRow: number;
  maxXlsxBytes: number;
  cutoffLen: number;
};

/** The limits from the env; a wrong setting throws a sentence naming the variable (checked at the worker's boot). */
export function readDatasetLimits(env: Record<string, string | undefined> = process.env): TDatasetLimits {
  const parsed = ZDatasetLimitsEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid dataset limits: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    maxBytes: e.DATASET_MAX_BYTES,
    maxRows: e.DATASET_MAX_ROWS,
    maxRowBytes: e.DATASET_MAX_ROW_BYTES,
    maxTokensPerRow: e.DATASET_MAX_TOKENS_PER_ROW,
    maxXlsxBytes: e.DATASET_MAX_XLSX_BYTES,
    cutoffLen: e.DATASET_CUTOFF_LEN,
  };
}

/** What an upload may be, in the words the upload page shows. */
export const ACCEPTED_EXTENSIONS = ['.jsonl', '.json', '.csv', '.xlsx'] as const;
