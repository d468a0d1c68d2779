/**
 * Preference (ranking) datasets for stage dpo: LLaMA-Factory's converter for `ranking: true` entries (alpaca: string
 * `chosen` / `rejected` columns; sharegpt: `chosen` / `rejected` messages after a conversation that ends with a user
 * turn) and its PairwiseDatasetProcessor (data/processor/pairwise.py): the prompt is encoded once, each answer as the
 * last reply (encode_oneturn), and cutoff_len is split between the prompt and the LONGER answer with infer_seqlen;
 * both answers are cut to the same target length. Labels mark the answer only.
 *
 * Where LLaMA-Factory drops a malformed row with a warning, this refuses it with the row and the field: a preference
 * row without a rejected answer, with chosen equal to rejected, or with an empty answer trains nothing (or worse, a
 * zero margin) and is nearly always a column-mapping mistake.
 */
import { dataCutoffLen, type TTrainConfig } from '../config/schema';
import { TrainerError } from '../io/errors';
import type { Tokenizer } from '../io/tokenizer';
import { identityFrom, replaceIdentity, splitValidation } from './datasets';
import { convertRow, readDatasetInfo, resolveDataset, streamRows, type TDatasetAttr } from './formats';
import { createExampleStore, type Example, type ExampleStore, IGNORE } from './store';
import { getTemplate, inferSeqlen, type TChatMessage, type Template } from './template';

/** One preference pair: two sft-style examples that share their prompt; labels mark the answer. */
export type PairExample = { chosen: Example; rejected: Example };
export type PairSource = { readonly length: number; at(i: number): PairExample };

/** A converted ranking row: the prompt messages (ending with a user turn) and the two answers. */
export type TPairRow = {
  prompt: TChatMessage[];
  chosen: TChatMessage;
  rejected: TChatMessage;
  system: string;
  tools: string;
};

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/**
 * Converts one ranking row. where: "dataset X, row N" for the errors, which name the field and the fix.
 */
export function convertPairRow(row: Record<string, unknown>, a: TDatasetAttr, where: string): TPairRow {
  const chosenKey = a.columns.chosen ?? 'chosen';
  const rejectedKey = a.columns.rejected ?? 'rejected';
  const fail = (msg: string): never => {
    throw new TrainerError('DATASET_INVALID', `${where}: ${msg}`);
  };
  for (const k of [chosenKey, rejectedKey]) {
    if (row[k] === undefined || row[k] === null) {
      fail(
        `the ${k === chosenKey ? 'chosen' : 'rejected'} answer (column "${k}") is missing; a preference row needs both "${chosenKey}" and "${rejectedKey}" (dataset_info.json "columns" maps them).`,
      );
    }
  }
  let answer: (k: string) => TChatMessage;
  let prompt: TChatMessage[];
  let system: string;
  if (a.formatting === 'alpaca') {
    answer = (k) => {
      if (typeof row[k] !== 'string') fail(`column "${k}" must be a string answer for an alpaca ranking dataset.`);
      return { role: 'assistant', content: row[k] as string };
    };
    // The prompt part as an sft row (instruction + input, history, system): the converter with no response.
    const base = convertRow({ ...row, [a.columns.response]: undefined }, a);
    if (!base) fail('the row could not be read as an alpaca prompt.');
    prompt = (base as NonNullable<typeof base>).prompt;
    system = (base as NonNullable<typeof base>).system;
  } else {
    const t = a.tags;
    answer = (k) => {
      const m = row[k] as Record<string, unknown>;
      if (typeof m !== 'object' || Array.isArray(m))
        fail(`column "${k}" must be one message object ({"${t.role_tag}": "${t.assistant_tag}", ...}).`);
      const role = str(m[t.role_tag]);
      if (role !== t.assistant_tag && role !== t.function_tag) {
        fail(`column "${k}" has role "${role}"; an answer must be "${t.assistant_tag}" or "${t.function_tag}".`);
      }
      return { role: role === t.function_tag ? 'function' : 'assistant', content: str(m[t.content_tag]) };
    };
    let messages = row[a.columns.messages];
    if (!Array.isArray(messages)) fail(`column "${a.columns.messages}" must be a list of messages.`);
    system = a.columns.system ? str(row[a.columns.system]) : '';
    const list = messages as Record<string, unknown>[];
    if (list.length > 0 && list[0]?.[t.role_tag] === t.system_tag) {
      system = str(list[0][t.content_tag]);
      messages = list.slice(1);
    }
    const roleOf: Record<string, TChatMessage['role']> = {
      [t.user_tag]: 'user',
      [t.assistant_tag]: 'assistant',
      [t.observation_tag]: 'observation',
      [t.function_tag]: 'function',
    };
    prompt = [];
    (messages as Record<string, unknown>[]).forEach((m, i) => {
      const tag = str(m?.[t.role_tag]);
      const ok = i % 2 === 0 ? [t.user_tag, t.observation_tag] : [t.assistant_tag, t.function_tag];
      if (!ok.includes(tag)) fail(`column "${a.columns.messages}" turn ${i} has role "${tag}" out of order.`);
      prompt.push({ role: roleOf[tag], content: str(m[t.content_tag]) });
    });
    if (prompt.length % 2 !== 1) {
      fail(
        `column "${a.columns.messages}" must end with a ${t.user_tag} turn (the answers are in "${chosenKey}" and "${rejectedKey}").`,
      );
    }
  }
  const chosen = answer(chosenKey);
  const rejected = answer(rejectedKey);
  if (chosen.content.trim() === '') fail(`the chosen answer (column "${chosenKey}") is empty.`);
  if (rejected.content.trim() === '') fail(`the rejected answer (column "${rejectedKey}") is empty.`);
  if (chosen.content === rejected.content && chosen.role === rejected.role) {
    fail(
      `the chosen and rejected answers (columns "${chosenKey}", "${rejectedKey}") are identical; the pair teaches nothing: remove the row or fix the columns.`,
    );
  }
  return { prompt, chosen, rejected, system, tools: a.columns.tools ? str(row[a.columns.tools]) : '' };
}

/** LLaMA-Factory's encode_oneturn: every turn but the last reply is the prompt; the last reply is the answer. */
export function encodeOneturn(template: Template, messages: TChatMessage[], system?: string, tools?: string) {
  const pairs = template.encodeMultiturn(messages, system, tools);
  const prompt: number[] = [];
  pairs.forEach(([s, t], i) => {
    prompt.push(...s);
    if (i < pairs.length - 1) prompt.push(...t);
  });
  return { prompt, answer: pairs[pairs.length - 1][1] };
}

/** PairwiseDatasetProcessor._encode_data_example. */
export function encodePair(
  r: TPairRow,
  template: Template,
  o: { cutoffLen: number; defaultSystem?: string },
): PairExample {
  const system = r.system || o.defaultSystem;
  const tools = r.tools || undefined;
  const c = encodeOneturn(template, [...r.prompt, r.chosen], system, tools);
  const rej = encodeOneturn(template, [...r.prompt, r.rejected], system, tools);
  // "consider the response is more important": the longer answer decides the split.
  const [sourceLen, targetLen] = inferSeqlen(
    c.prompt.length,
    Math.max(c.answer.length, rej.answer.length),
    o.cutoffLen,
  );
  const prompt = c.prompt.slice(0, sourceLen);
  const mk = (answer: number[]): Example => {
    const a = answer.slice(0, targetLen);
    return { inputIds: [...prompt, ...a], labels: [...new Array(sourceLen).fill(IGNORE), ...a] };
  };
  return { chosen: mk(c.answer), rejected: mk(rej.answer) };
}

/** Pairs kept in a store as consecutive examples: 2i the chosen, 2i+1 the rejected. */
function pairsOf(store: ExampleStore, positions?: number[]): PairSource {
  const all = store.all();
  const n = positions ? positions.length : all.length / 2;
  return {
    length: n,
    at(i) {
      const p = positions ? positions[i] : i;
      return { chosen: all.at(2 * p), rejected: all.at(2 * p + 1) };
    },
  };
}

async function tokenisePairs(
  store: ExampleStore,
  names: string[],
  cfg: TTrainConfig,
  template: Template,
): Promise<void> {
  const info = readDatasetInfo(cfg.dataset_dir);
  const identity = identityFrom(cfg);
  const cutoff = dataCutoffLen(cfg);
  for (const name of names) {
    const attr = resolveDataset(name, cfg.dataset_dir, info, 'sft');
    if (!attr.ranking) {
      throw new TrainerError(
        'DATASET_INVALID',
        `Dataset "${name}" is not a preference dataset: stage dpo needs "ranking": true and "chosen"/"rejected" columns in its dataset_info.json entry.`,
      );
    }
    let n = 0;
    await streamRows(attr.file, (raw) => {
      if (cfg.max_samples !== undefined && n >= cfg.max_samples) return false;
      n++;
      const row = replaceIdentity(raw, identity);
      const pair = encodePair(convertPairRow(row, attr, `dataset ${name}, row ${n}`), template, {
        cutoffLen: cutoff,
        defaultSystem: cfg.default_system,
      });
      store.push(pair.chosen);
      store.push(pair.rejected);
    });
  }
}

/** Train and eval pairs for a stage dpo config (eval: eval_dataset, else a val_size split of the train pairs). */
export async function loadPairDatasets(
  cfg: TTrainConfig,
  tokenizer: Tokenizer,
  modelDir: string,
): Promise<{ train: PairSource; eval: PairSource; template: Template }> {
  const template = getTemplate(cfg.template ?? 'auto', tokenizer, modelDir, { enableThinking: cfg.enable_thinking });
  if (!cfg.dataset || cfg.dataset.length === 0)
    throw new TrainerError('DATASET_NOT_FOUND', 'The config names no `dataset`.');
  const store = createExampleStore();
  await tokenisePairs(store, cfg.dataset, cfg, template);
  let train = pairsOf(store);
  let evalPairs: PairSource = { length: 0, at: () => undefined as unknown as PairExample };
  if (cfg.eval_dataset && cfg.eval_dataset.length > 0) {
    const evalStore = createExampleStore();
    await tokenisePairs(evalStore, cfg.eval_dataset, cfg, template);
    evalPairs = pairsOf(evalStore);
  } else if (cfg.val_size > 0) {
    const split = splitValidation(
      Array.from({ length: train.length }, (_, i) => i),
      cfg.val_size,
      cfg.seed,
    );
    evalPairs = pairsOf(store, split.eval);
    train = pairsOf(store, split.train);
  }
  if (train.length === 0)
    throw new TrainerError('DATASET_INVALID', `No usable preference pairs in ${cfg.dataset.join(', ')}.`);
  return { train, eval: evalPairs, template };
}
