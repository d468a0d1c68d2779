import type { TDownload } from '@/components/models/types';

// The REST shapes of the fine-tuning routes (issue 5, "Interfaces"), as the pages read them. Every field the
// backend may leave out is optional here, so a partial row renders with dashes instead of crashing a page.

const ws = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;
const job = (slug: string, id: string) => `${ws(slug)}/fine-tuning/jobs/${encodeURIComponent(id)}`;

export const ftPaths = {
  jobs: (slug: string) => `${ws(slug)}/fine-tuning/jobs`,
  estimate: (slug: string) => `${ws(slug)}/fine-tuning/estimate`,
  job,
  cancel: (slug: string, id: string) => `${job(slug, id)}/cancel`,
  metrics: (slug: string, id: string) => `${job(slug, id)}/metrics`,
  events: (slug: string, id: string) => `${job(slug, id)}/events`,
  checkpoints: (slug: string, id: string) => `${job(slug, id)}/checkpoints`,
  stream: (slug: string, id: string) => `${job(slug, id)}/stream`,
  baseModels: (slug: string) => `${ws(slug)}/base-models`,
  fineTunedModels: (slug: string) => `${ws(slug)}/fine-tuned-models`,
  datasets: (slug: string) => `${ws(slug)}/datasets`,
  datasetVersions: (slug: string, datasetId: string) =>
    `${ws(slug)}/datasets/${encodeURIComponent(datasetId)}/versions`,
};

const ACTIVE_STATUSES: readonly string[] = ['validating_files', 'queued', 'running'];
export const isActive = (status: string) => ACTIVE_STATUSES.includes(status);

type THyperparameters = Record<string, unknown>;

export type TJob = {
  id: string;
  status: string;
  method?: string;
  suffix?: string | null;
  baseModel?: { id: string; name: string } | null;
  datasetVersion?: { id: string; datasetId: string; datasetName?: string; number: number } | null;
  validationVersion?: { id: string; datasetId: string; datasetName?: string; number: number } | null;
  heldOut?: { rows: number } | null;
  hyperparameters?: THyperparameters | null;
  progress?: {
    step?: number | null;
    totalSteps?: number | null;
    epoch?: number | null;
    percentage?: number | null;
    etaSeconds?: number | null;
  } | null;
  trainedTokens?: number | string | null;
  error?: { code: string; message: string; param?: string | null } | null;
  createdBy?: { id: string; name?: string | null; email?: string | null } | null;
  createdAt?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  workerId?: string | null;
  fineTunedModel?: { id: string; name: string } | null;
  /** The fine-tuned model the job continued (SFT -> DPO). */
  fromModel?: { id: string; name: string } | null;
  cost?: TMoney | string | number | null;
};

export type TMoney = { amount: string; currency: string };

export type TMetric = {
  step: number;
  epoch?: number | null;
  loss?: number | null;
  evalLoss?: number | null;
  lr?: number | null;
  gradNorm?: number | null;
  tokensPerSec?: number | null;
  tokensSeen?: number | string | null;
  createdAt?: string;
  /** Preference training (dpo, kto): TRL's metric names, and their `eval_` versions. */
  'rewards/chosen'?: number;
  'rewards/rejected'?: number;
  'rewards/accuracies'?: number;
  'rewards/margins'?: number;
  'logps/chosen'?: number;
  'logps/rejected'?: number;
  'eval_rewards/margins'?: number;
  'eval_rewards/accuracies'?: number;
};

export type TJobEvent = {
  id: string;
  level: string;
  message: string;
  /** Stable event code + parameters (packages/jobs/src/events.ts); absent on events older than codes. */
  code?: string | null;
  params?: Record<string, unknown> | null;
  createdAt: string;
};

export type TCheckpoint = { id: string; step: number; createdAt: string; metrics?: Record<string, unknown> | null };

export type TEstimate = {
  trainedTokens: number;
  /** Tokens of one epoch, counted as the run counts them (tokensExact), else from the import statistics. */
  datasetTokens: number;
  tokensExact: boolean;
  epochs: number;
  estimatedSeconds: number;
  estimatedSecondsRange: { low: number; high: number };
  /** false: no job of this model has finished yet, the time is a rough guess. */
  throughputMeasured: boolean;
  cost: TMoney;
  throughputTokensPerSec: number;
  workerClass: string;
};

export type TBaseModel = {
  id: string;
  name: string;
  /** The instance's first-run demo model: jobs without settings use the demo preset. */
  demo?: boolean;
  /** An instance-wide model (no workspace of its own). */
  builtin?: boolean;
  arch?: string | null;
  /** The brief's name is `params`; the registry route sends `parameterCount`: both are read. */
  params?: number | string | null;
  parameterCount?: number | string | null;
  displayName?: string | null;
  source?: string | null;
  /** ready | downloading | failed: only a ready model can be trained or deployed. */
  status?: string;
  sourceRef?: string | null;
  download?: TDownload | null;
  createdAt?: string;
};

export type TFineTunedModel = {
  id: string;
  name: string;
  displayName?: string | null;
  method?: string | null;
  baseModel?: { id: string; name: string } | null;
  job?: { id: string; status?: string } | null;
  datasetVersion?: { id: string; datasetId: string; datasetName?: string; number: number } | null;
  hyperparameters?: THyperparameters | null;
  finalLoss?: number | null;
  finalEvalLoss?: number | null;
  /** The registry route's names for the final losses. */
  trainLoss?: number | null;
  evalLoss?: number | null;
  createdAt?: string;
};

export type TDatasetVersion = {
  id: string;
  number: number;
  status: string;
  format?: string | null;
  rowCount?: number | null;
  tokenCount?: number | string | null;
  /** What the version holds for training: chat (sft), preference (dpo), kto, text. */
  kind?: 'chat' | 'preference' | 'kto' | 'text';
};
export type TDataset = { id: string; name: string; latestVersion?: TDatasetVersion | null };
