import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TrainerError } from '../io/errors';
import type { TChatMessage } from './template';

// LLaMA-Factory's dataset registry (data/dataset_info.json) and its alpaca / sharegpt converters
// (src/llamafactory/data/converter.py), reduced to what SFT and PT use: prompt messages, one response, system, tools.

export type TDatasetAttr = {
  name: string;
  file: string;
  formatting: 'alpaca' | 'sharegpt';
  ranking: boolean;
  columns: {
    prompt: string;
    query: string;
    response: string;
    history?: string;
    messages: string;
    system?: string;
    tools?: string;
    kto_tag?: string;
    chosen?: string;
    rejected?: string;
  };
  tags: {
    role_tag: string;
    content_tag: string;
    user_tag: string;
    assistant_tag: string;
    observation_tag: string;
    function_tag: string;
    system_tag: string;
  };
};

/** One converted row: `prompt` ends with a user turn, `response` is the assistant reply (empty for PT text). */
export type TConvertedRow = { prompt: TChatMessage[]; response: TChatMessage[]; system: string; tools: string };

type TInfoEntry = {
  file_name?: string;
  hf_hub_url?: string;
  ms_hub_url?: string;
  om_hub_url?: string;
  script_url?: string;
  cloud_file_name?: string;
  formatting?: string;
  ranking?: boolean;
  columns?: Record<string, string>;
  tags?: Record<string, string>;
};

export function readDatasetInfo(datasetDir: string): Record<string, TInfoEntry> {
  const path = join(datasetDir, 'dataset_info.json');
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TrainerError('DATASET_INVALID', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Resolves a `dataset:` entry: a name in dataset_info.json, or (Crucible extension) a path to a .json/.jsonl file. */
export function resolveDataset(
  name: string,
  datasetDir: string,
  info: Record<string, TInfoEntry>,
  stage: string = 'sft',
): TDatasetAttr {
  const entry = info[name];
  if (!entry) {
    const candidates = [isAbsolute(name) ? name : join(datasetDir, name), resolve(name)];
    const file = candidates.find((p) => DATA_FILE.test(p) && existsSync(p) && statSync(p).isFile());
    if (!file) {
      throw new TrainerError(
        'DATASET_NOT_FOUND',
        `Dataset "${name}" is neither in ${join(datasetDir, 'dataset_info.json')} nor a .json/.jsonl/.txt file.`,
      );
    }
    // A file given by path has no dataset_info entry to name its columns: pre-training reads its `text` (a .txt
    // line, or a JSON row's `text`), as LLaMA-Factory's pre-training datasets declare (`"columns": {"prompt": "text"}`).
    return makeAttr(name, file, stage === 'pt' ? { columns: { prompt: 'text' } } : {});
  }
  if (!entry.file_name) {
    const remote =
      entry.hf_hub_url ?? entry.ms_hub_url ?? entry.om_hub_url ?? entry.script_url ?? entry.cloud_file_name;
    throw new TrainerError(
      'DATASET_NOT_FOUND',
      `Dataset "${name}" lives at ${remote ?? 'an unknown place'}; Crucible reads local files only — download it and set file_name.`,
    );
  }
  const file = isAbsolute(entry.file_name) ? entry.file_name : join(datasetDir, entry.file_name);
  if (!existsSync(file)) throw new TrainerError('DATASET_NOT_FOUND', `Dataset "${name}": file ${file} does not exist.`);
  return makeAttr(name, file, entry);
}

function makeAttr(name: string, file: string, e: TInfoEntry): TDatasetAttr {
  const formatting = e.formatting ?? 'alpaca';
  if (formatting !== 'alpaca' && formatting !== 'sharegpt') {
    throw new TrainerError(
      'DATASET_INVALID',
      `Dataset "${name}": formatting "${formatting}" is not alpaca or sharegpt.`,
    );
  }
  const c = e.columns ?? {};
  const t = e.tags ?? {};
  return {
    name,
    file,
    formatting,
    ranking: e.ranking ?? false,
    columns: {
      prompt: c.prompt ?? 'instruction',
      query: c.query ?? 'input',
      response: c.response ?? 'output',
      history: c.history,
      messages: c.messages ?? 'conversations',
      system: c.system,
      tools: c.tools,
      kto_tag: c.kto_tag,
      chosen: c.chosen,
      rejected: c.rejected,
    },
    tags: {
      role_tag: t.role_tag ?? 'from',
      content_tag: t.content_tag ?? 'value',
      user_tag: t.user_tag ?? 'human',
      assistant_tag: t.assistant_tag ?? 'gpt',
      observation_tag: t.observation_tag ?? 'observation',
      function_tag: t.function_tag ?? 'function_call',
      system_tag: t.system_tag ?? 'system',
    },
  };
}

const DATA_FILE = /\.(json|jsonl|txt)$/;

/**
 * Rows of a data file as LLaMA-Factory's `datasets` loaders give them: .json (a list), .jsonl (one object a line),
 * .txt (one `{ text }` row a line); a folder is all its data files in name order.
 */
export function readRows(file: string): Record<string, unknown>[] {
  if (statSync(file).isDirectory()) {
    const files = readdirSync(file)
      .filter((f) => DATA_FILE.test(f))
      .sort();
    if (files.length === 0) throw new TrainerError('DATASET_INVALID', `${file} holds no .json, .jsonl or .txt files.`);
    return files.flatMap((f) => readRows(join(file, f)));
  }
  const text = readFileSync(file, 'utf8');
  try {
    if (file.endsWith('.txt')) {
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => ({ text: l }));
    }
    if (file.endsWith('.jsonl')) {
      return text
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l));
    }
    const data = JSON.parse(text);
    if (!Array.isArray(data)) throw new Error('the top level is not a list of rows');
    return data;
  } catch (e) {
    throw new TrainerError('DATASET_INVALID', `${file}: ${(e as Error).message}`);
  }
}

/** A .json list is parsed whole (one string): past this size, say to use JSONL, which streams. */
const MAX_JSON_BYTES = 256 * 1024 * 1024;

function dataFiles(file: string): string[] {
  if (!statSync(file).isDirectory()) return [file];
  const files = readdirSync(file)
    .filter((f) => DATA_FILE.test(f))
    .sort();
  if (files.length === 0) throw new TrainerError('DATASET_INVALID', `${file} holds no .json, .jsonl or .txt files.`);
  return files.map((f) => join(file, f));
}

/**
 * The rows of a data file (or folder) one at a time, as readRows would list them, without holding the file: .jsonl
 * and .txt are read line by line from a stream, so their size is bounded by the disk, not by V8's longest string
 * (a 600 MB file read whole fails with ERR_STRING_TOO_LONG). onRow returns false to stop early (max_samples).
 */
export async function streamRows(
  file: string,
  onRow: (row: Record<string, unknown>) => boolean | undefined,
): Promise<void> {
  for (const f of dataFiles(file)) {
    if (f.endsWith('.json')) {
      const size = statSync(f).size;
      if (size > MAX_JSON_BYTES) {
        throw new TrainerError(
          'DATASET_INVALID',
          `${f} is a ${(size / 2 ** 20).toFixed(0)} MB .json list, which has to be parsed whole; write it as JSON Lines (.jsonl, one row a line), which is streamed.`,
        );
      }
      for (const row of readRows(f)) if (onRow(row) === false) return;
      continue;
    }
    const lines = createInterface({ input: createReadStream(f, { encoding: 'utf8' }), crlfDelay: Infinity });
    let lineNo = 0;
    try {
      for await (const line of lines) {
        lineNo++;
        let row: Record<string, unknown>;
        if (f.endsWith('.txt')) {
          if (line.length === 0) continue;
          row = { text: line };
        } else {
          if (line.trim().length === 0) continue;
          try {
            row = JSON.parse(line);
          } catch (e) {
            throw new TrainerError('DATASET_INVALID', `${f}: line ${lineNo}: ${(e as Error).message}`);
          }
        }
        if (onRow(row) === false) return;
      }
    } finally {
      lines.close();
    }
  }
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);

function convertAlpaca(row: Record<string, unknown>, a: TDatasetAttr): TConvertedRow {
  const prompt: TChatMessage[] = [];
  const history = a.columns.history ? row[a.columns.history] : undefined;
  if (Array.isArray(history)) {
    for (const turn of history) {
      if (Array.isArray(turn) && turn.length === 2) {
        prompt.push({ role: 'user', content: str(turn[0]) }, { role: 'assistant', content: str(turn[1]) });
      }
    }
  }
  const query: string[] = [];
  const p = row[a.columns.prompt];
  const q = row[a.columns.query];
  if (p) query.push(str(p));
  if (q) query.push(str(q));
  prompt.push({ role: 'user', content: query.join('\n') });
  const out = row[a.columns.response];
  const response: TChatMessage[] = typeof out === 'string' ? [{ role: 'assistant', content: out }] : [];
  return {
    prompt,
    response,
    system: a.columns.system ? str(row[a.columns.system]) : '',
    tools: a.columns.tools ? str(row[a.columns.tools]) : '',
  };
}

function convertSharegpt(row: Record<string, unknown>, a: TDatasetAttr): TConvertedRow | { invalid: string } {
  const t = a.tags;
  const roleOf: Record<string, TChatMessage['role']> = {
    [t.user_tag]: 'user',
    [t.assistant_tag]: 'assistant',
    [t.observation_tag]: 'observation',
    [t.function_tag]: 'function',
    [t.system_tag]: 'system',
  };
  const odd = [t.user_tag, t.observation_tag];
  const even = [t.assistant_tag, t.function_tag];
  let messages = row[a.columns.messages];
  if (!Array.isArray(messages)) return { invalid: `column "${a.columns.messages}" is not a list` };
  let system = a.columns.system ? str(row[a.columns.system]) : '';
  if (messages.length > 0 && messages[0]?.[t.role_tag] === t.system_tag) {
    system = str(messages[0][t.content_tag]);
    messages = messages.slice(1);
  }
  const aligned: TChatMessage[] = [];
  for (let i = 0; i < (messages as unknown[]).length; i++) {
    const m = (messages as Record<string, unknown>[])[i];
    const tag = str(m?.[t.role_tag]);
    if (!(i % 2 === 0 ? odd : even).includes(tag)) return { invalid: `turn ${i} has role "${tag}" out of order` };
    aligned.push({ role: roleOf[tag], content: str(m[t.content_tag]) });
  }
  if (aligned.length % 2 !== 0 || aligned.length === 0)
    return { invalid: 'the conversation does not end with a reply' };
  return {
    prompt: aligned.slice(0, -1),
    response: aligned.slice(-1),
    system,
    tools: a.columns.tools ? str(row[a.columns.tools]) : '',
  };
}

/** Converts rows as LLaMA-Factory does; rows it would drop as invalid are dropped and counted. */
export function convertRows(
  rows: Record<string, unknown>[],
  a: TDatasetAttr,
): { rows: TConvertedRow[]; dropped: number } {
  if (a.ranking || a.columns.chosen) {
    throw new TrainerError(
      'DATASET_INVALID',
      `Dataset "${a.name}" is a preference (ranking) dataset: train it with stage: dpo (stage rm is not available).`,
    );
  }
  if (a.columns.kto_tag) {
    throw new TrainerError(
      'DATASET_INVALID',
      `Dataset "${a.name}" is a KTO dataset (kto_tag): train it with stage: kto.`,
    );
  }
  const out: TConvertedRow[] = [];
  let dropped = 0;
  for (const row of rows) {
    const r = convertRow(row, a);
    if (r) out.push(r);
    else dropped++;
  }
  return { rows: out, dropped };
}

/** One row as convertRows converts it; null for a row LLaMA-Factory would drop as invalid. */
export function convertRow(row: Record<string, unknown>, a: TDatasetAttr): TConvertedRow | null {
  const r = a.formatting === 'alpaca' ? convertAlpaca(row, a) : convertSharegpt(row, a);
  return 'invalid' in r ? null : r;
}

/** The preference/KTO refusals of convertRows, for callers that convert row by row. */
export function checkConvertible(a: TDatasetAttr): void {
  convertRows([], a);
}
