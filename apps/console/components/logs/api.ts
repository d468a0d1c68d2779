// Shapes and paths of the request-log REST API (issue 16) as the Logs page and the playground read them.

const ws = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;

export const logPaths = {
  list: (slug: string, query: URLSearchParams) => `${ws(slug)}/request-logs?${query}`,
  one: (slug: string, id: string) => `${ws(slug)}/request-logs/${encodeURIComponent(id)}`,
  rating: (slug: string, id: string) => `${ws(slug)}/request-logs/${encodeURIComponent(id)}/rating`,
  addToDataset: (slug: string) => `${ws(slug)}/request-logs/add-to-dataset`,
  deployments: (slug: string) => `${ws(slug)}/deployments`,
} as const;

export type TRating = 'up' | 'down';

export type TLogSummary = {
  id: string;
  createdAt: string;
  model: string;
  deployment: { id: string; name: string | null } | null;
  source: 'deployment' | 'store' | 'playground';
  status: 'accepted' | 'completed' | 'cancelled' | 'failed';
  finishReason: string | null;
  latencyMs: number | null;
  promptTokens: number;
  completionTokens: number;
  rating: TRating | null;
  prompt: string;
  answer: string;
};

export type TLogDetail = Omit<TLogSummary, 'prompt'> & {
  messages: { role: string; content: string }[];
  metadata: Record<string, string>;
  expiresAt: string;
};

export type TLogPage = { data: TLogSummary[]; total: number; offset: number; limit: number; models: string[] };
