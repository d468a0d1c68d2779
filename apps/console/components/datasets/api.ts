// Paths and shapes of the dataset routes the pages call (the same REST API that API users call).

const ds = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}/datasets`;
const v = (slug: string, datasetId: string, versionId: string) =>
  `${ds(slug)}/${encodeURIComponent(datasetId)}/versions/${encodeURIComponent(versionId)}`;

export const datasetPaths = {
  list: ds,
  limits: (slug: string) => `${ds(slug)}/limits`,
  dataset: (slug: string, id: string) => `${ds(slug)}/${encodeURIComponent(id)}`,
  uploads: (slug: string, id: string) => `${ds(slug)}/${encodeURIComponent(id)}/uploads`,
  imports: (slug: string, id: string) => `${ds(slug)}/${encodeURIComponent(id)}/imports`,
  importOf: (slug: string, id: string, importId: string) =>
    `${ds(slug)}/${encodeURIComponent(id)}/imports/${encodeURIComponent(importId)}`,
  versions: (slug: string, id: string) => `${ds(slug)}/${encodeURIComponent(id)}/versions`,
  version: v,
  rows: (slug: string, id: string, vid: string, q: { offset: number; limit: number; q?: string }) =>
    `${v(slug, id, vid)}/rows?offset=${q.offset}&limit=${q.limit}${q.q ? `&q=${encodeURIComponent(q.q)}` : ''}`,
  edits: (slug: string, id: string, vid: string) => `${v(slug, id, vid)}/edits`,
  invalidRows: (slug: string, id: string, vid: string, q: { offset: number; limit: number }) =>
    `${v(slug, id, vid)}/invalid-rows?offset=${q.offset}&limit=${q.limit}`,
  placeholders: (slug: string, id: string, vid: string) => `${v(slug, id, vid)}/placeholders`,
  diff: (
    slug: string,
    id: string,
    vid: string,
    q: { base: string; kind: 'changed' | 'added' | 'removed'; offset: number; limit: number },
  ) => `${v(slug, id, vid)}/diff?base=${encodeURIComponent(q.base)}&kind=${q.kind}&offset=${q.offset}&limit=${q.limit}`,
  publish: (slug: string, id: string, vid: string) => `${v(slug, id, vid)}/publish`,
  download: (slug: string, id: string, vid: string) => `${v(slug, id, vid)}/download`,
  report: (slug: string, id: string, vid: string) => `${v(slug, id, vid)}/report`,
};

export const datasetPages = {
  list: (slug: string) => `/w/${encodeURIComponent(slug)}/datasets`,
  upload: (slug: string, datasetId?: string) =>
    `/w/${encodeURIComponent(slug)}/datasets/new${datasetId ? `?dataset=${encodeURIComponent(datasetId)}` : ''}`,
  detail: (slug: string, id: string, versionId?: string) =>
    `/w/${encodeURIComponent(slug)}/datasets/${encodeURIComponent(id)}${versionId ? `?version=${encodeURIComponent(versionId)}` : ''}`,
};

export type TLimits = {
  maxBytes: number;
  maxRows: number;
  maxRowBytes: number;
  maxTokensPerRow: number;
  maxXlsxBytes: number;
  cutoffLen: number;
  tokenizer: string;
  extensions: string[];
};

type TDistribution = { min: number; max: number; mean: number; total: number; p50: number; p95: number };
export type TStats = {
  rows: number;
  turns: TDistribution;
  characters: TDistribution;
  tokens:
    | (TDistribution & {
        histogram: { from: number; to: number; count: number }[];
        cutoffLen: number;
        overCutoff: number;
      })
    | null;
  duplicates: { count: number };
  nearEmpty: { count: number };
  /** Preference versions: tokens of the prompt and of each answer, per pair. */
  pairTokens?: { prompt: TDistribution; chosen: TDistribution; rejected: TDistribution } | null;
  /** KTO versions: replies marked good and bad. */
  labels?: { desirable: number; undesirable: number };
};

export type TProblemGroup = {
  code: string;
  severity: 'error' | 'warning';
  count: number;
  message: string;
  examples: {
    line: number;
    row?: number;
    field?: string;
    detail?: string;
    detailCode?: string;
    params?: Record<string, string | number>;
  }[];
};

type TReport = {
  ok: boolean;
  format: string | null;
  rows: number;
  validRows: number;
  errorCount: number;
  warningCount: number;
  problems: TProblemGroup[];
  placeholders: Record<string, number>;
  unreplacedPlaceholders?: Record<string, number> | string[];
};

export type TVersion = {
  id: string;
  number: number;
  status: 'draft' | 'published';
  format: string;
  sourceFormat: string | null;
  rowCount: number;
  tokenCount: number | null;
  errorCount: number;
  sha256: string;
  originalFilename: string | null;
  parentVersionId: string | null;
  createdAt: string;
  publishedAt: string | null;
  createdBy?: { name: string; email: string } | null;
  tokenizer?: string | null;
  stats?: TStats | null;
  validationReport?: TReport | null;
};

export type TDataset = { id: string; name: string; description: string | null; createdAt: string };

export type TSegment = { text: string; role: string; loss: boolean };
// biome-ignore lint/suspicious/noExplicitAny: rows are JSON objects of several canonical shapes
export type TRow = Record<string, any>;
export type TPreview = {
  total: number;
  offset: number;
  limit: number;
  data: { index: number; row: TRow; segments: TSegment[] }[];
  unavailable?: string;
};

/** A row of a version that has errors (GET …/invalid-rows): kept until fixed or deleted. */
export type TInvalidRow = {
  index: number;
  line: number;
  before: number;
  text: string | null;
  problems: {
    code: string;
    severity: 'error' | 'warning';
    field?: string;
    detail?: string;
    /** The detail as a code + params (packages/datasets details.ts), rendered in the reader's language. */
    detailCode?: string;
    params?: Record<string, string | number>;
    message: string;
  }[];
};
export type TInvalidPage = { total: number; offset: number; limit: number; data: TInvalidRow[]; unavailable?: string };

/** What an edit did (POST …/edits answers it with the new version). */
type TEditSummary = {
  updated: number;
  deleted: number;
  added: number;
  fixed: number;
  invalidDeleted: number;
  invalidKept: number;
  dropped: number;
};
export type TEdited = { id: string; number: number; edit: TEditSummary };

/** Rows of a version that have errors (kept beside its valid rows), from its validation report. */
export const invalidCount = (v: TVersion) =>
  v.validationReport ? Math.max(0, v.validationReport.rows - v.validationReport.validRows) : 0;

export type TImport = {
  id: string;
  status: 'validating' | 'succeeded' | 'failed' | 'cancelled';
  totalBytes: number;
  bytesRead: number;
  rowsRead: number;
  versionId: string | null;
  error: { code: string; message: string } | null;
};

/** Opens a version's short-lived download link (straight from storage). */
export async function openDownload(path: string): Promise<void> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(String(res.status));
  const body = (await res.json()) as { url: string };
  window.location.assign(body.url);
}

/** Saves a JSON answer (the validation report) as a file. */
export async function saveJson(path: string, fileName: string): Promise<void> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(String(res.status));
  const blob = new Blob([await res.text()], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = fileName;
  a.click();
  URL.revokeObjectURL(a.href);
}

/** Uploads a file to a presigned target with progress (XMLHttpRequest: fetch has no upload progress). */
export function uploadWithProgress(
  target: { url: string; method: 'POST' | 'PUT'; fields?: Record<string, string>; headers?: Record<string, string> },
  file: File,
  onProgress: (fraction: number) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(target.method, target.url);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => resolve(xhr.status);
    xhr.onerror = () => reject(new Error('network'));
    if (target.method === 'POST') {
      const form = new FormData();
      for (const [k, val] of Object.entries(target.fields ?? {})) form.append(k, val);
      form.append('file', file);
      xhr.send(form);
    } else {
      for (const [k, val] of Object.entries(target.headers ?? {})) xhr.setRequestHeader(k, val);
      xhr.send(file);
    }
  });
}
