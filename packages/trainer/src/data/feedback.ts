/**
 * KTO datasets for stage kto: LLaMA-Factory's converter for rows with a `kto_tag` column (true: a desirable
 * completion, false: an undesirable one; alpaca `output` or the last sharegpt reply) and its FeedbackDatasetProcessor
 * (data/processor/feedback.py): each row is encoded once for its own completion and once for a MISMATCHED one, the
 * completion of the row before it in the same chunk of preprocessing_batch_size rows (the first row takes the
 * chunk's last): those KL rows estimate the KL term. Prompt and completion share cutoff_len by infer_seqlen.
 * Malformed rows are errors naming the row and the field, where LLaMA-Factory drops them.
 */
import { dataCutoffLen, type TTrainConfig } from '../config/schema';
import { TrainerError } from '../io/errors';
import type { Tokenizer } from '../io/tokenizer';
import { identityFrom, replaceIdentity, splitValidation } from './datasets';
import { convertRow, readDatasetInfo, resolveDataset, streamRows, type TDatasetAttr } from './formats';
import { encodeOneturn } from './pairwise';
import { createExampleStore, type Example, type ExampleStore, IGNORE } from './store';
import { getTemplate, inferSeqlen, type TChatMessage, type Template } from './template';

/** One KTO row: its example, its KL example (prompt + another row's completion), and its tag. */
export type KtoExample = { example: Example; kl: Example; desirable: boolean };
export type KtoSource = { readonly length: number; at(i: number): KtoExample };

export type TKtoRow = {
  prompt: TChatMessage[];
  completion: TChatMessage;
  desirable: boolean;
  system: string;
  tools: string;
};

export function convertKtoRow(row: Record<string, unknown>, a: TDatasetAttr, where: string): TKtoRow {
  const fail = (msg: string): never => {
    throw new TrainerError('DATASET_INVALID', `${where}: ${msg}`);
  };
  const tagKey = a.columns.kto_tag as string;
  const tag = row[tagKey];
  if (typeof tag !== 'boolean') {
    fail(`column "${tagKey}" (kto_tag) must be true (desirable) or false (undesirable), got ${JSON.stringify(tag)}.`);
  }
  const r = convertRow(row, a);
  const shapeOk = r !== null && r.response.length === 1 && r.prompt.length % 2 === 1;
  if (!shapeOk) {
    fail(
      a.formatting === 'alpaca'
        ? `column "${a.columns.response}" must hold the completion (a string).`
        : `column "${a.columns.messages}" must alternate user and assistant turns and end with the completion.`,
    );
  }
  const ok = r as NonNullable<typeof r>;
  if (ok.response[0].content.trim() === '') {
    fail(
      `the completion (${a.formatting === 'alpaca' ? `column "${a.columns.response}"` : 'the last reply'}) is empty.`,
    );
  }
  return {
    prompt: ok.prompt,
    completion: ok.response[0],
    desirable: tag as boolean,
    system: ok.system,
    tools: ok.tools,
  };
}

function encodeOne(
  template: Template,
  messages: TChatMessage[],
  cutoffLen: number,
  system?: string,
  tools?: string,
): Example {
  const e = encodeOneturn(template, messages, system, tools);
  const [s, t] = inferSeqlen(e.prompt.length, e.answer.length, cutoffLen);
  const answer = e.answer.slice(0, t);
  return { inputIds: [...e.prompt.slice(0, s), ...answer], labels: [...new Array(s).fill(IGNORE), ...answer] };
}

/** FeedbackDatasetProcessor over one chunk of rows: each row with the previous row's completion as its KL row. */
export function encodeKtoChunk(
  rows: TKtoRow[],
  template: Template,
  o: { cutoffLen: number; defaultSystem?: string },
): KtoExample[] {
  return rows.map((r, i) => {
    const system = r.system || o.defaultSystem;
    const tools = r.tools || undefined;
    const klCompletion = rows[(i + rows.length - 1) % rows.length].completion;
    return {
      example: encodeOne(template, [...r.prompt, r.completion], o.cutoffLen, system, tools),
      kl: encodeOne(template, [...r.prompt, klCompletion], o.cutoffLen, system, tools),
      desirable: r.desirable,
    };
  });
}

function ktoOf(store: ExampleStore, tags: boolean[], positions?: number[]): KtoSource {
  const all = store.all();
  return {
    length: positions ? positions.length : tags.length,
    at(i) {
      const p = positions ? positions[i] : i;
      return { example: all.at(2 * p), kl: all.at(2 * p + 1), desirable: tags[p] };
    },
  };
}

async function tokeniseKto(
  store: ExampleStore,
  tags: boolean[],
  names: string[],
  cfg: TTrainConfig,
  template: Template,
): Promise<void> {
  const info = readDatasetInfo(cfg.dataset_dir);
  const identity = identityFrom(cfg);
  const chunkRows = cfg.preprocessing_batch_size ?? 1000;
  const o = { cutoffLen: dataCutoffLen(cfg), defaultSystem: cfg.default_system };
  let chunk: TKtoRow[] = [];
  const flush = () => {
    for (const ex of encodeKtoChunk(chunk, template, o)) {
      store.push(ex.example);
      store.push(ex.kl);
      tags.push(ex.desirable);
    }
    chunk = [];
  };
  for (const name of names) {
    const attr = resolveDataset(name, cfg.dataset_dir, info, 'sft');
    if (!attr.columns.kto_tag) {
      throw new TrainerError(
        'DATASET_INVALID',
        `Dataset "${name}" is not a KTO dataset: stage kto needs a "kto_tag" column (true/false per row) in its dataset_info.json "columns".`,
      );
    }
    let n = 0;
    await streamRows(attr.file, (raw) => {
      if (cfg.max_samples !== undefined && n >= cfg.max_samples) return false;
      n++;
      chunk.push(convertKtoRow(replaceIdentity(raw, identity), attr, `dataset ${name}, row ${n}`));
      // datasets are merged before LLaMA-Factory maps them: a chunk spans dataset ends
      if (chunk.length === chunkRows) flush();
    });
  }
  if (chunk.length > 0) flush();
}

/** Train and eval rows for a stage kto config (eval: eval_dataset, else a val_size split of the train rows). */
export async function loadKtoDatasets(
  cfg: TTrainConfig,
  tokenizer: Tokenizer,
  modelDir: string,
  warn: (m: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
): Promise<{ train: KtoSource; eval: KtoSource; template: Template }> {
  const template = getTemplate(cfg.template ?? 'auto', tokenizer, modelDir, { enableThinking: cfg.enable_thinking });
  if (!cfg.dataset || cfg.dataset.length === 0)
    throw new TrainerError('DATASET_NOT_FOUND', 'The config names no `dataset`.');
  const store = createExampleStore();
  const tags: boolean[] = [];
  await tokeniseKto(store, tags, cfg.dataset, cfg, template);
  let train = ktoOf(store, tags);
  let evalRows: KtoSource = { length: 0, at: () => undefined as unknown as KtoExample };
  if (cfg.eval_dataset && cfg.eval_dataset.length > 0) {
    const evalStore = createExampleStore();
    const evalTags: boolean[] = [];
    await tokeniseKto(evalStore, evalTags, cfg.eval_dataset, cfg, template);
    evalRows = ktoOf(evalStore, evalTags);
  } else if (cfg.val_size > 0) {
    const split = splitValidation(
      Array.from({ length: train.length }, (_, i) => i),
      cfg.val_size,
      cfg.seed,
    );
    evalRows = ktoOf(store, tags, split.eval);
    train = ktoOf(store, tags, split.train);
  }
  if (train.length === 0) throw new TrainerError('DATASET_INVALID', `No usable KTO rows in ${cfg.dataset.join(', ')}.`);
  const desirable = tags.filter((t) => t).length;
  if (desirable === 0 || desirable === tags.length) warn('Your dataset only has one preference type.');
  return { train, eval: evalRows, template };
}
