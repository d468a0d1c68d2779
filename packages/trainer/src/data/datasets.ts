import { dataCutoffLen, type TTrainConfig } from '../config/schema';
import { TrainerError } from '../io/errors';
import type { Tokenizer } from '../io/tokenizer';
import {
  checkConvertible,
  convertRow,
  convertRows,
  readDatasetInfo,
  readRows,
  resolveDataset,
  streamRows,
  type TConvertedRow,
} from './formats';
import { packExamples } from './packing';
import { createExampleStore, type ExampleList, type ExampleStore, type Example as StoreExample } from './store';
import { getTemplate, type Template } from './template';

export type Example = { inputIds: number[]; labels: number[] };

export type TIdentity = { name?: string; author?: string };

/**
 * The values for identity.json's `{{name}}` / `{{author}}` placeholders: config keys `identity_name` /
 * `identity_author`, else the environment variables CRUCIBLE_IDENTITY_NAME / CRUCIBLE_IDENTITY_AUTHOR.
 */
export function identityFrom(
  cfg: Pick<TTrainConfig, 'identity_name' | 'identity_author'>,
  env = process.env,
): TIdentity {
  return {
    name: cfg.identity_name ?? env.CRUCIBLE_IDENTITY_NAME,
    author: cfg.identity_author ?? env.CRUCIBLE_IDENTITY_AUTHOR,
  };
}

/** identity.json's placeholders replaced in every string of a row. */
export function replaceIdentity<T>(v: T, id: TIdentity): T {
  if (typeof v === 'string') {
    let s: string = v;
    if (id.name !== undefined) s = s.replaceAll('{{name}}', id.name);
    if (id.author !== undefined) s = s.replaceAll('{{author}}', id.author);
    return s as T;
  }
  if (Array.isArray(v)) return v.map((x) => replaceIdentity(x, id)) as T;
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceIdentity(x, id)])) as T;
  }
  return v;
}

/** Reads, limits (max_samples: the first N rows, as LLaMA-Factory) and converts the named datasets, in order. */
export function readConvertedRows(
  names: string[],
  cfg: Pick<TTrainConfig, 'dataset_dir' | 'max_samples' | 'identity_name' | 'identity_author'> & {
    stage?: TTrainConfig['stage'];
  },
  warn: (m: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
): TConvertedRow[] {
  const info = readDatasetInfo(cfg.dataset_dir);
  const identity = identityFrom(cfg);
  const all: TConvertedRow[] = [];
  for (const name of names) {
    const attr = resolveDataset(name, cfg.dataset_dir, info, cfg.stage);
    let rows = readRows(attr.file);
    if (cfg.max_samples !== undefined) rows = rows.slice(0, cfg.max_samples);
    rows = replaceIdentity(rows, identity);
    const { rows: converted, dropped } = convertRows(rows, attr);
    if (dropped > 0) warn(`dataset ${name}: dropped ${dropped} invalid rows (as LLaMA-Factory does).`);
    if (converted.some((r) => JSON.stringify(r).includes('{{name}}') || JSON.stringify(r).includes('{{author}}'))) {
      warn(
        `dataset ${name} still holds {{name}}/{{author}}: set identity_name/identity_author (or CRUCIBLE_IDENTITY_NAME/AUTHOR).`,
      );
    }
    all.push(...converted);
  }
  return all;
}

export type TSupervisedOptions = {
  cutoffLen: number;
  trainOnPrompt?: boolean;
  maskHistory?: boolean;
  defaultSystem?: string;
};

/** LLaMA-Factory's SupervisedDatasetProcessor: rows that are not (odd prompt, one reply) are dropped. */
export function supervisedExamples(rows: TConvertedRow[], template: Template, opts: TSupervisedOptions): Example[] {
  const out: Example[] = [];
  for (const r of rows) {
    if (r.prompt.length % 2 !== 1 || r.response.length !== 1) continue;
    out.push(
      template.encodeChat([...r.prompt, ...r.response], {
        system: r.system || opts.defaultSystem,
        tools: r.tools || undefined,
        cutoffLen: opts.cutoffLen,
        trainOnPrompt: opts.trainOnPrompt,
        maskHistory: opts.maskHistory,
      }),
    );
  }
  return out;
}

/**
 * LLaMA-Factory's PretrainDatasetProcessor: each text + EOS; with packing (the default for `pt`) all texts are
 * concatenated and cut into blocks of cutoff_len, the remainder dropped; without packing each text is truncated.
 * Labels are the inputs (the causal-LM shift happens in the loss).
 */
export function pretrainExamples(
  rows: TConvertedRow[],
  tokenizer: Tokenizer,
  template: Template,
  opts: { cutoffLen: number; packing: boolean },
): Example[] {
  // LLaMA-Factory uses `<|end_of_text|>` for llama3 rather than the chat EOS it installs.
  const eos = template.name === 'llama3' ? '<|end_of_text|>' : template.eosToken;
  const texts = rows.map((r) => (r.prompt[0]?.content ?? '') + eos);
  const bos = tokenizer.addBosToken ? tokenizer.bosTokenId : undefined;
  if (!opts.packing) {
    return texts.map((t) => {
      const ids = [...(bos !== undefined ? [bos] : []), ...tokenizer.encode(t)].slice(0, opts.cutoffLen);
      return { inputIds: ids, labels: [...ids] };
    });
  }
  const all: number[] = [];
  for (const t of texts) for (const id of tokenizer.encode(t)) all.push(id);
  const block = opts.cutoffLen;
  const out: Example[] = [];
  for (let i = 0; i + block <= all.length; i += block) {
    const ids = all.slice(i, i + block);
    if (bos !== undefined) ids[0] = bos;
    out.push({ inputIds: ids, labels: [...ids] });
  }
  return out;
}

/** mulberry32: a small seeded PRNG so the split is the same on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The validation split. As Hugging Face `train_test_split(test_size=val_size)`: `val_size` > 1 is a row count,
 * otherwise a fraction, and the eval count is ceil(fraction * n). Which rows go to eval is a Fisher-Yates shuffle
 * seeded with `seed` (mulberry32) — repeatable, but not the same rows as datasets' numpy permutation. Train rows
 * keep their file order; the training loop does its own seeded shuffling.
 */
export function splitValidation<T>(items: T[], valSize: number, seed: number): { train: T[]; eval: T[] } {
  if (valSize <= 0) return { train: items, eval: [] };
  const n = items.length;
  const nEval = valSize > 1 ? Math.trunc(valSize) : Math.ceil(valSize * n);
  if (nEval >= n) {
    throw new TrainerError('DATASET_INVALID', `val_size ${valSize} leaves no training rows out of ${n}.`);
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const evalSet = new Set(idx.slice(0, nEval));
  return {
    train: items.filter((_, i) => !evalSet.has(i)),
    eval: idx
      .slice(0, nEval)
      .sort((a, b) => a - b)
      .map((i) => items[i]),
  };
}

/** Streams one config's datasets into a store: row by row from disk, converted, tokenised, never all in memory. */
async function tokeniseInto(
  store: ExampleStore,
  names: string[],
  cfg: TTrainConfig,
  tokenizer: Tokenizer,
  template: Template,
  warn: (m: string) => void,
): Promise<void> {
  const info = readDatasetInfo(cfg.dataset_dir);
  const identity = identityFrom(cfg);
  const pt = cfg.stage === 'pt';
  // Pre-training: LLaMA-Factory uses `<|end_of_text|>` for llama3 rather than the chat EOS it installs.
  const eos = template.name === 'llama3' ? '<|end_of_text|>' : template.eosToken;
  const bos = tokenizer.addBosToken ? tokenizer.bosTokenId : undefined;
  // LLaMA-Factory's data cutoff: one token less when the config asks for packing (data/packing.ts).
  const cutoff = dataCutoffLen(cfg);
  const block = cutoff;
  // Packing concatenates every text of every dataset and cuts blocks of the cutoff; only the unfinished block is
  // held (the remainder at the very end is dropped, as LLaMA-Factory drops it).
  let carry: number[] = [];
  // SFT packing bins the examples of each chunk of preprocessing_batch_size rows read (data/packing.ts); only one
  // chunk's examples are held.
  const packSft = !pt && cfg.packing;
  const chunkRows = cfg.preprocessing_batch_size ?? 1000;
  let chunk: StoreExample[] = [];
  let rowsInChunk = 0;
  const flushChunk = (): void => {
    for (const ex of packExamples(chunk, cutoff, warn)) store.push(ex);
    chunk = [];
    rowsInChunk = 0;
  };
  const emit = (r: TConvertedRow): void => {
    if (!pt) {
      if (r.prompt.length % 2 !== 1 || r.response.length !== 1) return;
      const ex = template.encodeChat([...r.prompt, ...r.response], {
        system: r.system || cfg.default_system,
        tools: r.tools || undefined,
        cutoffLen: cutoff,
        trainOnPrompt: cfg.train_on_prompt,
        maskHistory: cfg.mask_history,
      });
      if (packSft) chunk.push(ex);
      else store.push(ex);
      return;
    }
    const text = (r.prompt[0]?.content ?? '') + eos;
    if (!cfg.packing) {
      const ids = [...(bos !== undefined ? [bos] : []), ...tokenizer.encode(text)].slice(0, cutoff);
      store.push({ inputIds: ids, labels: ids });
      return;
    }
    for (const id of tokenizer.encode(text)) carry.push(id);
    let at = 0;
    while (carry.length - at >= block) {
      const ids = carry.slice(at, at + block);
      if (bos !== undefined) ids[0] = bos;
      store.push({ inputIds: ids, labels: ids });
      at += block;
    }
    if (at > 0) carry = carry.slice(at);
  };
  for (const name of names) {
    const attr = resolveDataset(name, cfg.dataset_dir, info, cfg.stage);
    checkConvertible(attr);
    let read = 0;
    let dropped = 0;
    let placeholders = false;
    await streamRows(attr.file, (raw) => {
      if (cfg.max_samples !== undefined && read >= cfg.max_samples) return false;
      read++;
      rowsInChunk++;
      const r = convertRow(replaceIdentity(raw, identity), attr);
      if (!r) dropped++;
      else {
        if (!placeholders) {
          const j = JSON.stringify(r);
          placeholders = j.includes('{{name}}') || j.includes('{{author}}');
        }
        emit(r);
      }
      if (packSft && rowsInChunk === chunkRows) flushChunk();
    });
    if (dropped > 0) warn(`dataset ${name}: dropped ${dropped} invalid rows (as LLaMA-Factory does).`);
    if (placeholders) {
      warn(
        `dataset ${name} still holds {{name}}/{{author}}: set identity_name/identity_author (or CRUCIBLE_IDENTITY_NAME/AUTHOR).`,
      );
    }
  }
  // The last, shorter chunk (datasets are merged before LLaMA-Factory maps them, so a chunk spans dataset ends).
  if (packSft && chunk.length > 0) flushChunk();
}

/**
 * Train and eval examples for a config: `dataset` (and `eval_dataset`, else a `val_size` split of the train rows),
 * tokenised with `template` (unset = the model's own jinja template, as LLaMA-Factory parses it). Files are streamed
 * row by row and the examples kept in typed arrays (data/store.ts), so memory follows the token count, not the file.
 */
export async function loadDatasets(
  cfg: TTrainConfig,
  tokenizer: Tokenizer,
  modelDir: string,
  warn: (m: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
): Promise<{ train: ExampleList; eval: ExampleList; template: Template }> {
  // Pre-training only needs the template's EOS; a tokenizer without a chat template falls back to `default`
  // (plain EOS), as LLaMA-Factory's `empty` template does.
  const name = cfg.template ?? (cfg.stage === 'pt' && !tokenizer.chatTemplate ? 'default' : 'auto');
  const template = getTemplate(name, tokenizer, modelDir, { enableThinking: cfg.enable_thinking });
  if (!cfg.dataset || cfg.dataset.length === 0)
    throw new TrainerError('DATASET_NOT_FOUND', 'The config names no `dataset`.');
  const trainStore = createExampleStore();
  await tokeniseInto(trainStore, cfg.dataset, cfg, tokenizer, template, warn);
  let train = trainStore.all();
  let evalExamples = createExampleStore().all();
  if (cfg.eval_dataset && cfg.eval_dataset.length > 0) {
    const evalStore = createExampleStore();
    await tokeniseInto(evalStore, cfg.eval_dataset, cfg, tokenizer, template, warn);
    evalExamples = evalStore.all();
  } else if (cfg.val_size > 0) {
    const split = splitValidation(
      Array.from({ length: train.length }, (_, i) => i),
      cfg.val_size,
      cfg.seed,
    );
    evalExamples = train.select(split.eval);
    train = train.select(split.train);
  }
  if (train.length === 0)
    throw new TrainerError('DATASET_INVALID', `No usable training rows in ${cfg.dataset.join(', ')}.`);
  let unlabelled = 0;
  for (let i = 0; i < train.length; i++) if (train.labelled(i) === 0) unlabelled++;
  if (unlabelled > 0) warn(`${unlabelled} training examples have no labelled tokens after cutoff_len.`);
  return { train, eval: evalExamples, template };
}
