import type { ModelExport } from '@crucible/db';
import { getStorage, type TObjectInfo } from '@crucible/storage';

/**
 * What a model can be downloaded as (issue 6, "Models: downloads"), from what is in storage and the exports built so
 * far. A fine-tuned LoRA model: its PEFT adapter (adapter_config.json + adapter_model.safetensors, as PEFT's
 * save_pretrained writes), its GGUF LoRA adapter, merged safetensors (built on request), a merged GGUF (built on
 * request), the GGUF of its base (built on request; with the GGUF adapter it is what llama.cpp and Ollama take),
 * and the training logs. A full fine-tune: its weights and a GGUF of them. A base model: its weights and a GGUF.
 * Every model also has its model card (README.md), generated from the lineage.
 */

export type TArtifactId = 'card' | 'adapter' | 'gguf-adapter' | 'weights' | 'merged' | 'gguf' | 'gguf-base' | 'logs';

export const ARTIFACT_IDS: readonly TArtifactId[] = [
  'card',
  'adapter',
  'gguf-adapter',
  'weights',
  'merged',
  'gguf',
  'gguf-base',
  'logs',
];

export const EXPORT_DTYPES = {
  safetensors: ['BF16', 'F16', 'F32'],
  gguf: ['F16', 'Q8_0', 'F32'],
} as const;
export type TExportFormat = keyof typeof EXPORT_DTYPES;
/** The default of each export: BF16 keeps bf16-trained weights exact at half the size; F16 is llama.cpp's default. */
export const DEFAULT_DTYPE: Record<TExportFormat, string> = { safetensors: 'BF16', gguf: 'F16' };

type TArtifactFile = { name: string; size: number };

export type TArtifact = {
  id: TArtifactId;
  /** safetensors / gguf exports come in several dtypes; null for what is stored as it is */
  dtype: string | null;
  /** ready: download now; missing: POST .../exports builds it; queued/running/failed: an export's state */
  state: 'ready' | 'missing' | 'queued' | 'running' | 'failed';
  files: TArtifactFile[];
  sizeBytes: number;
  /** for a built (or buildable) export: its format and row */
  export: {
    format: TExportFormat;
    of: 'model' | 'base';
    id: string | null;
    error: string | null;
    finishedAt: string | null;
  } | null;
};

const PEFT_FILE = /^(adapter_config\.json|adapter_model\.safetensors)$/;
const TOKENIZER_FILE = /^(tokenizer.*\.json|special_tokens_map\.json|vocab\.json|merges\.txt|chat_template\.jinja)$/;
const WEIGHTS_FILE =
  /^(config\.json|generation_config\.json|.*\.safetensors|model\.safetensors\.index\.json|tokenizer.*\.json|special_tokens_map\.json|vocab\.json|merges\.txt|chat_template\.jinja)$/;
const LOG_FILE = /^(trainer_log\.jsonl|.*_results\.json|training_loss\.png|train_config\.json)$/;

/** The direct children of a stored folder (prefix), by name; nested folders (checkpoints) are not part of a model. */
async function listFolder(prefix: string | null): Promise<(TObjectInfo & { name: string })[]> {
  if (!prefix) return [];
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return (await getStorage().listObjects(p))
    .map((o) => ({ ...o, name: o.key.slice(p.length) }))
    .filter((o) => !o.name.includes('/'));
}

export type TStoredFile = TArtifactFile & { key: string };

const pick = (listed: (TObjectInfo & { name: string })[], re: RegExp): TStoredFile[] =>
  listed.filter((o) => re.test(o.name)).map((o) => ({ name: o.name, size: o.size, key: o.key }));

function exportArtifact(
  id: TArtifactId,
  format: TExportFormat,
  of: 'model' | 'base',
  rows: ModelExport[],
  listed: Map<string, TStoredFile[]>,
): TArtifact[] {
  const mine = rows.filter((r) => r.format === format);
  const out: TArtifact[] = mine.map((r) => {
    const files = listed.get(r.id) ?? [];
    return {
      id,
      dtype: r.dtype,
      state: r.status === 'succeeded' ? 'ready' : r.status,
      files: files.map(({ name, size }) => ({ name, size })),
      sizeBytes: files.reduce((s, f) => s + f.size, 0),
      export: {
        format,
        of,
        id: r.id,
        error: r.status === 'failed' || r.status === 'queued' ? r.errorMessage : null,
        finishedAt: r.finishedAt?.toISOString() ?? null,
      },
    };
  });
  // The default dtype is offered even before anyone asked for it.
  if (!mine.some((r) => r.dtype === DEFAULT_DTYPE[format])) {
    out.push({
      id,
      dtype: DEFAULT_DTYPE[format],
      state: 'missing',
      files: [],
      sizeBytes: 0,
      export: { format, of, id: null, error: null, finishedAt: null },
    });
  }
  return out;
}

const stored = (id: TArtifactId, files: TStoredFile[]): TArtifact => ({
  id,
  dtype: null,
  state: 'ready',
  files: files.map(({ name, size }) => ({ name, size })),
  sizeBytes: files.reduce((s, f) => s + f.size, 0),
  export: null,
});

/** Files of each finished export, listed from storage. */
async function exportFiles(rows: ModelExport[]): Promise<Map<string, TStoredFile[]>> {
  const out = new Map<string, TStoredFile[]>();
  for (const r of rows) {
    if (r.status !== 'succeeded') continue;
    out.set(r.id, pick(await listFolder(r.objectKey), /./));
  }
  return out;
}

export type TFineTunedFiles = {
  adapter: TStoredFile[];
  ggufAdapter: TStoredFile[];
  weights: TStoredFile[];
  logs: TStoredFile[];
};

type TFtRow = {
  adapterObjectKey: string | null;
  ggufAdapterObjectKey: string | null;
  mergedObjectKey: string | null;
};

export async function fineTunedFiles(m: TFtRow): Promise<TFineTunedFiles> {
  const folder = m.adapterObjectKey ?? m.mergedObjectKey;
  const listed = await listFolder(folder);
  const lora = Boolean(m.adapterObjectKey);
  let ggufAdapter: TStoredFile[] = [];
  if (m.ggufAdapterObjectKey) {
    const stat = await getStorage().statObject(m.ggufAdapterObjectKey);
    if (stat) ggufAdapter = [{ name: 'adapter.gguf', size: stat.size, key: m.ggufAdapterObjectKey }];
  }
  return {
    // PEFT's save_pretrained folder: the adapter, plus the tokenizer when the training saved it beside
    adapter: lora ? pick(listed, new RegExp(`${PEFT_FILE.source}|${TOKENIZER_FILE.source}`)) : [],
    ggufAdapter,
    weights: lora ? [] : pick(listed, WEIGHTS_FILE),
    logs: pick(listed, LOG_FILE),
  };
}

/** Every artifact of a fine-tuned model, in the order the model page lists them. */
export async function fineTunedArtifacts(
  m: TFtRow,
  exports: { own: ModelExport[]; base: ModelExport[] },
): Promise<TArtifact[]> {
  const files = await fineTunedFiles(m);
  const listed = await exportFiles([...exports.own, ...exports.base]);
  const out: TArtifact[] = [stored('card', [{ name: 'README.md', size: 0, key: '' }])];
  if (m.adapterObjectKey) {
    if (files.adapter.length) out.push(stored('adapter', files.adapter));
    if (files.ggufAdapter.length) out.push(stored('gguf-adapter', files.ggufAdapter));
    out.push(...exportArtifact('gguf-base', 'gguf', 'base', exports.base, listed));
    out.push(...exportArtifact('merged', 'safetensors', 'model', exports.own, listed));
  } else if (files.weights.length) {
    out.push(stored('weights', files.weights));
  }
  out.push(...exportArtifact('gguf', 'gguf', 'model', exports.own, listed));
  if (files.logs.length) out.push(stored('logs', files.logs));
  return out;
}

export async function baseFiles(b: { objectKey: string | null }): Promise<TStoredFile[]> {
  return pick(await listFolder(b.objectKey), WEIGHTS_FILE);
}

export async function baseArtifacts(b: { objectKey: string | null }, exports: ModelExport[]): Promise<TArtifact[]> {
  const weights = await baseFiles(b);
  const listed = await exportFiles(exports);
  return [
    stored('card', [{ name: 'README.md', size: 0, key: '' }]),
    ...(weights.length ? [stored('weights', weights)] : []),
    ...exportArtifact('gguf', 'gguf', 'model', exports, listed),
  ];
}

/** The stored files behind a ready export (for downloads). */
export async function exportFilesOf(row: ModelExport): Promise<TStoredFile[]> {
  return (await exportFiles([row])).get(row.id) ?? [];
}
