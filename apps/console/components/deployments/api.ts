// Shapes and paths of the deployments REST API (issue 6, "Serving") as the console's pages read them.

const ws = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;

export const deploymentPaths = {
  list: (slug: string) => `${ws(slug)}/deployments`,
  one: (slug: string, id: string) => `${ws(slug)}/deployments/${encodeURIComponent(id)}`,
  stop: (slug: string, id: string) => `${ws(slug)}/deployments/${encodeURIComponent(id)}/stop`,
  restart: (slug: string, id: string) => `${ws(slug)}/deployments/${encodeURIComponent(id)}/restart`,
  metrics: (slug: string, id: string, from: Date, to: Date) =>
    `${ws(slug)}/deployments/${encodeURIComponent(id)}/metrics?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`,
  baseModels: (slug: string) => `${ws(slug)}/base-models`,
  fineTunedModels: (slug: string) => `${ws(slug)}/fine-tuned-models`,
  chatModels: (slug: string) => `${ws(slug)}/chat-models`,
} as const;

type TDeploymentStatus = 'deploying' | 'running' | 'stopped' | 'failed';
export type TModelKind = 'base' | 'fine_tuned';

type TDeploymentStats = {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  p50Ms: number | null;
  p95Ms: number | null;
};

export type TDeployment = {
  id: string;
  name: string;
  status: TDeploymentStatus;
  /** null only when the model row is gone (deleted under a stopped deployment). */
  model: { id: string; kind: TModelKind; name: string; openaiId: string } | null;
  replicas: number;
  /** replicas ready to serve; fewer than `replicas` while deploying or degraded */
  readyReplicas?: number;
  replicaList?: TReplica[];
  contextSize: number;
  /** Request logs (issue 16): whether its chats are kept, and for how many days. */
  logRequests?: boolean;
  logRetentionDays?: number;
  startedAt: string | null;
  stoppedAt: string | null;
  error: { code?: string; message?: string } | string | null;
  createdAt: string;
  stats?: TDeploymentStats | null;
};

export type TReplicaStatus = 'pending' | 'loading' | 'ready' | 'unhealthy' | 'failed';

/** One replica: which serving worker holds it and how its last health check went. */
type TReplica = {
  index: number;
  workerId: string | null;
  status: TReplicaStatus;
  startedAt: string | null;
  lastHealthAt: string | null;
  healthFailures: number;
  error: { code?: string; message?: string | null } | null;
};

export type TMetricBucket = {
  bucket: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  p50Ms: number | null;
  p95Ms: number | null;
};

/** A model the Deploy dialog offers: base models and fine-tuned models side by side. */
export type TDeployableModel = { id: string; kind: TModelKind; name: string; detail?: string };

export const isMoving = (status: string) => status === 'deploying';

export function errorText(error: TDeployment['error']): string | null {
  if (!error) return null;
  if (typeof error === 'string') return error;
  return error.message ?? error.code ?? null;
}

/** Seconds the deployment has been (or was) up: from startedAt to now while running, to stoppedAt after. */
export function uptimeSeconds(d: Pick<TDeployment, 'status' | 'startedAt' | 'stoppedAt'>, now: number): number | null {
  if (!d.startedAt) return null;
  const start = Date.parse(d.startedAt);
  if (Number.isNaN(start)) return null;
  if (d.status === 'running' || d.status === 'deploying') return Math.max(0, (now - start) / 1000);
  const end = d.stoppedAt ? Date.parse(d.stoppedAt) : Number.NaN;
  return Number.isNaN(end) ? null : Math.max(0, (end - start) / 1000);
}

export function formatMs(value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value >= 10_000) return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value / 1000)} s`;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(value)} ms`;
}
