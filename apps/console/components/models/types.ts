// Shapes and paths of the model pages' API (apps/console/lib/server/routes/models.ts), as the pages read them.

const ws = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;

export const modelPaths = {
  fineTuned: (slug: string, id: string) => `${ws(slug)}/fine-tuned-models/${encodeURIComponent(id)}`,
  base: (slug: string, id: string) => `${ws(slug)}/base-models/${encodeURIComponent(id)}`,
  page: (slug: string, id: string) => `/w/${encodeURIComponent(slug)}/models/${encodeURIComponent(id)}`,
  basePage: (slug: string, id: string) => `/w/${encodeURIComponent(slug)}/models/base/${encodeURIComponent(id)}`,
  baseModels: (slug: string) => `${ws(slug)}/base-models`,
  catalog: (slug: string) => `${ws(slug)}/base-models/catalog`,
  uploads: (slug: string) => `${ws(slug)}/base-models/uploads`,
  upload: (slug: string, id: string) => `${ws(slug)}/base-models/uploads/${encodeURIComponent(id)}`,
  uploadParts: (slug: string, id: string) => `${ws(slug)}/base-models/uploads/${encodeURIComponent(id)}/parts`,
  uploadComplete: (slug: string, id: string) => `${ws(slug)}/base-models/uploads/${encodeURIComponent(id)}/complete`,
  retry: (slug: string, id: string) => `${ws(slug)}/base-models/${encodeURIComponent(id)}/retry`,
  hubToken: (slug: string, hub: string) => `${ws(slug)}/hub-tokens/${encodeURIComponent(hub)}`,
  fineTune: (slug: string, id: string) =>
    `/w/${encodeURIComponent(slug)}/fine-tuning/new?base=${encodeURIComponent(id)}`,
} as const;

/** How a base model is being added (POST .../base-models): what its progress bar shows. */
export type TDownload = {
  id: string;
  source: 'huggingface' | 'modelscope' | 'directory' | 'upload';
  repo: string | null;
  revision: string | null;
  commit: string | null;
  status: 'queued' | 'downloading' | 'storing' | 'succeeded' | 'failed';
  totalBytes: number;
  doneBytes: number;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  currentFile: string | null;
  error: { code: string; message: string } | null;
  /** A note while it runs ("Retrying after: ..."). */
  note: string | null;
};

export const isDownloading = (d: TDownload | null | undefined) =>
  !!d && (d.status === 'queued' || d.status === 'downloading' || d.status === 'storing');

export type TCatalogEntry = {
  id: string;
  name: string;
  family: string;
  architecture: string;
  huggingface: string;
  modelscope: string | null;
  instruct: boolean;
  license: string;
  gated: boolean;
  contextLength: number;
  template: string;
  unsupported: string | null;
  unsupportedCode: 'multimodal' | 'config' | null;
  parameters: number | null;
  memory: {
    lora: number | null;
    full: number | null;
    settings: { batchSize: number; cutoffLen: number; loraRank: number };
  };
  fits: { sft_lora: number; sft_full: number; of: number };
  added: { id: string; status: string } | null;
};

type TTrainerWorker = { workerId: string; hostname: string; memoryBytes: number | null; workerClass: string };

export type TCatalog = {
  data: TCatalogEntry[];
  workers: TTrainerWorker[];
  hubTokens: { huggingface: string | null; modelscope: string | null };
  uploadMaxBytes: number;
};

type TArtifactId = 'card' | 'adapter' | 'gguf-adapter' | 'weights' | 'merged' | 'gguf' | 'gguf-base' | 'logs';
type TArtifactState = 'ready' | 'missing' | 'queued' | 'running' | 'failed';

export type TArtifact = {
  id: TArtifactId;
  dtype: string | null;
  state: TArtifactState;
  files: { name: string; size: number }[];
  sizeBytes: number;
  downloadPath: string;
  export: {
    format: 'safetensors' | 'gguf';
    of: 'model' | 'base';
    id: string | null;
    error: string | null;
    finishedAt: string | null;
  } | null;
};

type TSnippets = { transformers: string; llamacpp: string; ollama: string; curl: string; openai: string };

type TCommon = {
  id: string;
  name: string;
  openaiId: string;
  displayName: string | null;
  createdAt: string;
  artifacts: TArtifact[];
  card: string;
  snippets: TSnippets;
  deployments: { id: string; name: string; status: string }[];
};

export type TFineTunedModelDetail = TCommon & {
  kind: 'fine_tuned';
  description: string | null;
  method: string;
  lora: boolean;
  baseModel: { id: string; name: string; displayName: string | null; arch: string | null; sourceRef: string | null };
  datasetVersion: { id: string; datasetId: string; datasetName: string; number: number } | null;
  job: { id: string; status: string; finishedAt: string | null } | null;
  hyperparameters: Record<string, unknown> | null;
  trainLoss: number | null;
  evalLoss: number | null;
};

export type TBaseModelDetail = TCommon & {
  kind: 'base';
  status: string;
  download: TDownload | null;
  dtype: string | null;
  architecture: string | null;
  chatTemplate: string | null;
  training: {
    unsupported: string | null;
    methods: string[];
    memory: {
      sft_lora: number | null;
      sft_full: number | null;
      settings: { batchSize: number; cutoffLen: number; loraRank: number };
    };
    fits: { sft_lora: number; sft_full: number; of: number };
    workers: TTrainerWorker[];
  } | null;
  arch: string | null;
  source: string | null;
  sourceRef: string | null;
  revision: string | null;
  parameterCount: number | null;
  contextLength: number | null;
  sizeBytes: number | null;
  builtin: boolean;
  usage: { fineTunedModels: number; jobs: number };
};

export type TModelDetail = TFineTunedModelDetail | TBaseModelDetail;

/** Dtypes each export can be built in (the server checks the same list). */
export const EXPORT_DTYPES = { safetensors: ['BF16', 'F16', 'F32'], gguf: ['F16', 'Q8_0', 'F32'] } as const;

export const isBuilding = (m: TModelDetail) => m.artifacts.some((a) => a.state === 'queued' || a.state === 'running');
