// Shapes and paths of the evaluations REST API (issue 16) as the console's pages read them.
import type { TTranslate } from '@/lib/i18n/translate';
import { formatNumber } from '@/lib/utils';

const ws = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;
const one = (slug: string, id: string) => `${ws(slug)}/evaluations/${encodeURIComponent(id)}`;

export const evaluationPaths = {
  list: (slug: string) => `${ws(slug)}/evaluations`,
  one,
  cancel: (slug: string, id: string) => `${one(slug, id)}/cancel`,
  rows: (slug: string, id: string, q: { sort: string; metric: string | null; offset: number; limit: number }) =>
    `${one(slug, id)}/rows?sort=${q.sort}&offset=${q.offset}&limit=${q.limit}${q.metric ? `&metric=${encodeURIComponent(q.metric)}` : ''}`,
  export: (slug: string, id: string, format: 'csv' | 'jsonl') => `${one(slug, id)}/export?format=${format}`,
  nextPair: (slug: string, id: string) => `${one(slug, id)}/ratings`,
  rate: (slug: string, id: string, ratingId: string) => `${one(slug, id)}/ratings/${encodeURIComponent(ratingId)}`,
  winRates: (slug: string, id: string) => `${one(slug, id)}/win-rates`,
  addToDataset: (slug: string, id: string) => `${one(slug, id)}/add-to-dataset`,
  baseModels: (slug: string) => `${ws(slug)}/base-models`,
  fineTunedModels: (slug: string) => `${ws(slug)}/fine-tuned-models`,
  deployments: (slug: string) => `${ws(slug)}/deployments`,
  jobs: (slug: string) => `${ws(slug)}/fine-tuning/jobs`,
  checkpoints: (slug: string, jobId: string) => `${ws(slug)}/fine-tuning/jobs/${encodeURIComponent(jobId)}/checkpoints`,
  datasets: (slug: string) => `${ws(slug)}/datasets`,
  versions: (slug: string, datasetId: string) => `${ws(slug)}/datasets/${encodeURIComponent(datasetId)}/versions`,
} as const;

export type TEvaluationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

type TEvaluationModel = {
  index: number;
  kind: 'base' | 'fine_tuned' | 'checkpoint';
  /** the model's id; a checkpoint's: its job's */
  id: string;
  /** a checkpoint's step */
  step?: number;
  name: string;
  displayName: string;
};

type TMetricRow = {
  index: number;
  name: string;
  displayName: string;
  answered: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  means: Record<string, number | null>;
};

export type TEvaluation = {
  id: string;
  name: string;
  status: TEvaluationStatus;
  progress: { done: number; total: number };
  rowCount: number;
  models: TEvaluationModel[];
  settings: { maxNewTokens: number; temperature: number; topP: number };
  metrics: string[];
  cancelRequested: boolean;
  error: { code: string; message: string | null } | null;
  createdAt: string;
  results?: TMetricRow[];
};

type TAnswer = {
  modelIndex: number;
  text: string;
  finishReason: string | null;
  scores: Record<string, number | null>;
  details: Record<string, unknown> | null;
  errorCode: string | null;
  errorMessage: string | null;
};

export type TResultRow = {
  index: number;
  messages: { role: string; content: string }[];
  label: string;
  spread: number;
  outputs: TAnswer[];
};

export type TRows = { metric: string | null; metrics: string[]; total: number; data: TResultRow[] };

export type TPair = {
  id: string;
  messages: { role: string; content: string }[];
  label: string;
  left: string;
  right: string;
  rated: number;
};

export type TWinRate = {
  a: { index: number; name: string; displayName: string };
  b: { index: number; name: string; displayName: string };
  n: number;
  winsA: number;
  winsB: number;
  ties: number;
  winRateA: number;
  interval: [number, number] | null;
};

export const isOpen = (status: TEvaluationStatus) => status === 'queued' || status === 'running';

/**
 * A model of an evaluation as the page names it. The API's displayName of a checkpoint ends in " · step N" (English,
 * as the server stores it); the page says the step in its own language. `kind` is absent where the API gives only
 * the name (rating pairs): then the server's own suffix is what tells a checkpoint.
 */
export function evaluationModelLabel(
  m: { displayName: string; kind?: TEvaluationModel['kind'] },
  t: TTranslate,
  locale: string,
): string {
  const checkpoint = m.kind === undefined || m.kind === 'checkpoint' ? / · step (\d+)$/.exec(m.displayName) : null;
  if (!checkpoint) return m.displayName;
  return t('evaluations.form.checkpoint', {
    model: m.displayName.slice(0, checkpoint.index),
    step: formatNumber(Number(checkpoint[1]), locale),
  });
}
