import { detail } from '../details';
import type { TMessage, TToolCall } from '../types';
import { isObj, preview, type TConverted, type TIssue, type TObj } from './issues';
import { parseTools } from './openai';

// LLaMA-Factory's dataset registry (data/dataset_info.json) and its alpaca / sharegpt converters
// (src/llamafactory/data/converter.py), producing canonical rows. Rows LLaMA-Factory would skip with a warning
// ("Invalid role tag", "Invalid message count") are reported here as problems, never dropped silently.

export type TDatasetAttr = {
  name: string;
  fileName: string;
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

export const DEFAULT_TAGS: TDatasetAttr['tags'] = Object.freeze({
  role_tag: 'from',
  content_tag: 'value',
  user_tag: 'human',
  assistant_tag: 'gpt',
  observation_tag: 'observation',
  function_tag: 'function_call',
  system_tag: 'system',
});

/** The tags of sharegpt data written with OpenAI role/content keys (LLaMA-Factory's mllm/kto demos). */
export const OPENAI_STYLE_TAGS: TDatasetAttr['tags'] = Object.freeze({
  role_tag: 'role',
  content_tag: 'content',
  user_tag: 'user',
  assistant_tag: 'assistant',
  observation_tag: 'observation',
  function_tag: 'function',
  system_tag: 'system',
});

export type TDatasetInfoError = { code: 'invalid_dataset_info'; message: string };

/** One entry of dataset_info.json as LLaMA-Factory's DatasetAttr reads it (defaults filled in). */
export function datasetAttrFromEntry(name: string, e: TObj): TDatasetAttr | TDatasetInfoError {
  const fileName = e.file_name;
  if (typeof fileName !== 'string' || fileName === '') {
    const remote = e.hf_hub_url ?? e.ms_hub_url ?? e.om_hub_url ?? e.script_url ?? e.cloud_file_name;
    return {
      code: 'invalid_dataset_info',
      message: `Dataset "${name}" has no file_name${remote ? ` (it lives at ${String(remote)}; download it and upload the file)` : ''}.`,
    };
  }
  const formatting = e.formatting ?? 'alpaca';
  if (formatting !== 'alpaca' && formatting !== 'sharegpt') {
    return {
      code: 'invalid_dataset_info',
      message: `Dataset "${name}": formatting "${String(formatting)}" is not alpaca or sharegpt.`,
    };
  }
  const c = (isObj(e.columns) ? e.columns : {}) as Record<string, string | undefined>;
  const t = (isObj(e.tags) ? e.tags : {}) as Record<string, string | undefined>;
  return {
    name,
    fileName,
    formatting,
    ranking: e.ranking === true,
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
      role_tag: t.role_tag ?? DEFAULT_TAGS.role_tag,
      content_tag: t.content_tag ?? DEFAULT_TAGS.content_tag,
      user_tag: t.user_tag ?? DEFAULT_TAGS.user_tag,
      assistant_tag: t.assistant_tag ?? DEFAULT_TAGS.assistant_tag,
      observation_tag: t.observation_tag ?? DEFAULT_TAGS.observation_tag,
      function_tag: t.function_tag ?? DEFAULT_TAGS.function_tag,
      system_tag: t.system_tag ?? DEFAULT_TAGS.system_tag,
    },
  };
}

/**
 * Parses an uploaded dataset_info.json (text or parsed JSON). Entries without a local file (hub datasets) come back
 * in `errors`, the rest in `attrs` by name.
 */
export function parseDatasetInfo(json: string | unknown): {
  attrs: Record<string, TDatasetAttr>;
  errors: TDatasetInfoError[];
} {
  let info: unknown = json;
  if (typeof json === 'string') {
    try {
      info = JSON.parse(json);
    } catch (e) {
      return {
        attrs: {},
        errors: [
          { code: 'invalid_dataset_info', message: `dataset_info.json is not valid JSON: ${(e as Error).message}` },
        ],
      };
    }
  }
  if (!isObj(info)) {
    return {
      attrs: {},
      errors: [{ code: 'invalid_dataset_info', message: 'dataset_info.json must be an object of named datasets.' }],
    };
  }
  const attrs: Record<string, TDatasetAttr> = {};
  const errors: TDatasetInfoError[] = [];
  for (const [name, entry] of Object.entries(info)) {
    if (!isObj(entry)) {
      errors.push({ code: 'invalid_dataset_info', message: `Dataset "${name}" is not an object.` });
      continue;
    }
    const a = datasetAttrFromEntry(name, entry);
    if ('code' in a) errors.push(a);
    else attrs[name] = a;
  }
  return { attrs, errors };
}

/** The entry that describes an uploaded data file: by dataset name, else by its file_name (base name compared). */
export function findDatasetAttr(attrs: Record<string, TDatasetAttr>, fileNameOrName: string): TDatasetAttr | undefined {
  if (attrs[fileNameOrName]) return attrs[fileNameOrName];
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  return Object.values(attrs).find((a) => base(a.fileName) === base(fileNameOrName));
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** A sharegpt `function_call` value: JSON `{name, arguments}` or a list of them (parallel calls). */
function functionCalls(value: unknown, turn: number, field: string, issues: TIssue[]): TToolCall[] | undefined {
  let v = value;
  if (typeof value === 'string') {
    try {
      v = JSON.parse(value);
    } catch {
      issues.push({ code: 'invalid_tool_call', field, ...detail('not_json', { value: preview(value) }) });
      return undefined;
    }
  }
  const list = Array.isArray(v) ? v : [v];
  const out: TToolCall[] = [];
  for (let k = 0; k < list.length; k++) {
    const c = list[k];
    if (!isObj(c) || typeof c.name !== 'string' || c.name === '') {
      issues.push({
        code: 'invalid_tool_call',
        field,
        ...detail('expected_shape_got', { shape: '{"name", "arguments"}', value: preview(c) }),
      });
      return undefined;
    }
    const args = typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {});
    out.push({ id: `call_${turn}_${k}`, type: 'function', function: { name: c.name, arguments: args } });
  }
  return out.length > 0 ? out : undefined;
}

type TAligned = { messages: TMessage[]; system: string };

/** LLaMA-Factory's sharegpt alignment: system first (optional), then user|observation and assistant|function alternating. */
function alignSharegpt(row: TObj, a: TDatasetAttr, issues: TIssue[]): TAligned | undefined {
  const t = a.tags;
  const field = a.columns.messages;
  let list = row[field];
  if (!Array.isArray(list)) {
    issues.push({
      code: 'missing_messages_list',
      field,
      ...(list === undefined ? detail('absent') : detail('got', { value: preview(list) })),
    });
    return undefined;
  }
  let system = a.columns.system ? str(row[a.columns.system]) : '';
  let offset = 0;
  if (list.length > 0 && isObj(list[0]) && list[0][t.role_tag] === t.system_tag) {
    system = str(list[0][t.content_tag]);
    list = list.slice(1);
    offset = 1;
  }
  const known = new Set([t.user_tag, t.assistant_tag, t.observation_tag, t.function_tag]);
  const odd = [t.user_tag, t.observation_tag];
  const even = [t.assistant_tag, t.function_tag];
  const messages: TMessage[] = [];
  let lastCalls: TToolCall[] | undefined;
  for (let i = 0; i < (list as unknown[]).length; i++) {
    const m = (list as unknown[])[i];
    const f = `${field}[${i + offset}]`;
    if (!isObj(m)) {
      issues.push({ code: 'data_type', field: f, ...detail('turn_not_object', { value: preview(m) }) });
      return undefined;
    }
    if (!(t.role_tag in m)) {
      issues.push({ code: 'message_missing_key', field: `${f}.${t.role_tag}` });
      return undefined;
    }
    if (!(t.content_tag in m)) {
      issues.push({ code: 'message_missing_key', field: `${f}.${t.content_tag}` });
      return undefined;
    }
    const tag = m[t.role_tag];
    if (typeof tag !== 'string' || !known.has(tag)) {
      issues.push({ code: 'unrecognized_role', field: `${f}.${t.role_tag}`, detail: preview(tag) });
      return undefined;
    }
    if (!(i % 2 === 0 ? odd : even).includes(tag)) {
      issues.push({
        code: 'invalid_role_order',
        field: `${f}.${t.role_tag}`,
        ...detail('turn_order', { turn: i + 1, tag, expected: (i % 2 === 0 ? odd : even).join('/') }),
      });
      return undefined;
    }
    const content = m[t.content_tag];
    if (tag === t.function_tag) {
      const calls = functionCalls(content, i + offset, `${f}.${t.content_tag}`, issues);
      if (!calls) return undefined;
      lastCalls = calls;
      messages.push({ role: 'assistant', content: null, tool_calls: calls });
      continue;
    }
    if (typeof content !== 'string' || content === '') {
      issues.push({ code: 'missing_content', field: `${f}.${t.content_tag}`, detail: preview(content) });
      return undefined;
    }
    if (tag === t.observation_tag) {
      const msg: TMessage = { role: 'tool', content };
      if (lastCalls) msg.tool_call_id = lastCalls[0].id;
      messages.push(msg);
    } else messages.push({ role: tag === t.user_tag ? 'user' : 'assistant', content });
  }
  return { messages, system };
}

const withSystem = (system: string, ms: TMessage[]): TMessage[] =>
  system ? [{ role: 'system', content: system }, ...ms] : ms;

function replyMessage(v: unknown, a: TDatasetAttr, field: string, issues: TIssue[]): TMessage | undefined {
  const t = a.tags;
  if (!isObj(v)) {
    issues.push({
      code: 'missing_field',
      field,
      ...detail('expected_shape_got', { shape: `{"${t.role_tag}", "${t.content_tag}"}`, value: preview(v) }),
    });
    return undefined;
  }
  const tag = v[t.role_tag];
  if (tag !== t.assistant_tag && tag !== t.function_tag) {
    issues.push({
      code: 'invalid_role_order',
      field: `${field}.${t.role_tag}`,
      ...detail('reply_tags', { a: t.assistant_tag, b: t.function_tag }),
    });
    return undefined;
  }
  const content = v[t.content_tag];
  if (tag === t.function_tag) {
    const calls = functionCalls(content, 0, `${field}.${t.content_tag}`, issues);
    return calls ? { role: 'assistant', content: null, tool_calls: calls } : undefined;
  }
  if (typeof content !== 'string' || content === '') {
    issues.push({ code: 'missing_content', field: `${field}.${t.content_tag}` });
    return undefined;
  }
  return { role: 'assistant', content };
}

export function convertSharegpt(row: TObj, a: TDatasetAttr): TConverted {
  const issues: TIssue[] = [];
  const tools = a.columns.tools ? parseTools(row[a.columns.tools], a.columns.tools, issues) : undefined;
  const aligned = alignSharegpt(row, a, issues);
  if (!aligned || issues.length > 0) return { issues };
  const { messages, system } = aligned;
  const n = messages.length;
  if (a.ranking) {
    // Preference: the prompt ends with a user/observation turn; chosen and rejected are the two replies.
    if (n % 2 === 0) {
      issues.push({
        code: 'invalid_role_order',
        field: a.columns.messages,
        ...detail('preference_prompt_end'),
      });
      return { issues };
    }
    const chosen = replyMessage(row[a.columns.chosen ?? 'chosen'], a, a.columns.chosen ?? 'chosen', issues);
    const rejected = replyMessage(row[a.columns.rejected ?? 'rejected'], a, a.columns.rejected ?? 'rejected', issues);
    if (!chosen || !rejected) return { issues };
    const input = tools
      ? { messages: withSystem(system, messages), tools }
      : { messages: withSystem(system, messages) };
    return { row: { input, preferred_output: [chosen], non_preferred_output: [rejected] }, issues };
  }
  if (n === 0 || n % 2 !== 0) {
    issues.push({
      code: 'example_missing_assistant_message',
      field: a.columns.messages,
      ...detail('last_turn_reply', { n }),
    });
    return { issues };
  }
  const out: { messages: TMessage[]; tools?: typeof tools; label?: boolean } = {
    messages: withSystem(system, messages),
  };
  if (tools) out.tools = tools;
  if (a.columns.kto_tag) {
    const label = row[a.columns.kto_tag];
    if (typeof label !== 'boolean') {
      issues.push({
        code: 'invalid_field_type',
        field: a.columns.kto_tag,
        ...detail('expected_boolean_got', { value: preview(label) }),
      });
      return { issues };
    }
    out.label = label;
  }
  return { row: out, issues };
}

export function convertAlpaca(row: TObj, a: TDatasetAttr): TConverted {
  const issues: TIssue[] = [];
  const c = a.columns;
  const messages: TMessage[] = [];
  const system = c.system ? row[c.system] : undefined;
  if (system !== undefined && system !== null && system !== '') {
    if (typeof system !== 'string')
      issues.push({ code: 'invalid_field_type', field: c.system, detail: preview(system) });
    else messages.push({ role: 'system', content: system });
  }
  const history = c.history ? row[c.history] : undefined;
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history))
      issues.push({ code: 'invalid_field_type', field: c.history, ...detail('expected_history') });
    else {
      history.forEach((turn, i) => {
        // LLaMA-Factory skips history items that are not pairs; we report them.
        if (!Array.isArray(turn) || turn.length !== 2 || typeof turn[0] !== 'string' || typeof turn[1] !== 'string') {
          issues.push({
            code: 'invalid_field_type',
            field: `${c.history}[${i}]`,
            ...detail('expected_shape_got', { shape: '["query", "reply"]', value: preview(turn) }),
          });
        } else messages.push({ role: 'user', content: turn[0] }, { role: 'assistant', content: turn[1] });
      });
    }
  }
  const query: string[] = [];
  for (const key of [c.prompt, c.query]) {
    const v = row[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string')
      issues.push({ code: 'invalid_field_type', field: key, ...detail('expected_text_got', { value: preview(v) }) });
    else query.push(v);
  }
  const tools = c.tools ? parseTools(row[c.tools], c.tools, issues) : undefined;
  if (issues.length > 0) return { issues };
  const user = query.join('\n');
  if (a.ranking) {
    const chosen = row[c.chosen ?? 'chosen'];
    const rejected = row[c.rejected ?? 'rejected'];
    for (const [k, v] of [
      [c.chosen ?? 'chosen', chosen],
      [c.rejected ?? 'rejected', rejected],
    ] as const) {
      if (typeof v !== 'string' || v === '') issues.push({ code: 'missing_content', field: k, detail: preview(v) });
    }
    if (user === '') issues.push({ code: 'missing_content', field: c.prompt });
    if (issues.length > 0) return { issues };
    messages.push({ role: 'user', content: user });
    return {
      row: {
        input: tools ? { messages, tools } : { messages },
        preferred_output: [{ role: 'assistant', content: chosen as string }],
        non_preferred_output: [{ role: 'assistant', content: rejected as string }],
      },
      issues,
    };
  }
  const output = row[c.response];
  if (output === undefined && messages.length === 0 && query.length === 1 && row[c.query] === undefined) {
    // No response column: LLaMA-Factory reads the prompt alone as pre-training text (c4_demo: prompt = "text").
    return { row: { text: user }, issues };
  }
  if (user === '') issues.push({ code: 'missing_content', field: c.prompt });
  if (typeof output !== 'string' || output === '') {
    issues.push({
      code: output === undefined ? 'missing_field' : 'missing_content',
      field: c.response,
      detail: preview(output),
    });
  }
  if (issues.length > 0) return { issues };
  messages.push({ role: 'user', content: user }, { role: 'assistant', content: output as string });
  const out: { messages: TMessage[]; tools?: typeof tools; label?: boolean } = { messages };
  if (tools) out.tools = tools;
  if (c.kto_tag) {
    const label = row[c.kto_tag];
    if (typeof label !== 'boolean') {
      issues.push({
        code: 'invalid_field_type',
        field: c.kto_tag,
        ...detail('expected_boolean_got', { value: preview(label) }),
      });
      return { issues };
    }
    out.label = label;
  }
  return { row: out, issues };
}

/** Converts one row as LLaMA-Factory reads it through its dataset_info.json entry. */
export function convertWithAttr(row: TObj, a: TDatasetAttr): TConverted {
  return a.formatting === 'alpaca' ? convertAlpaca(row, a) : convertSharegpt(row, a);
}

/** An attr for data in a known format without a dataset_info.json (the columns LLaMA-Factory users write). */
export function defaultAttr(
  formatting: 'alpaca' | 'sharegpt',
  opts: { ranking?: boolean; kto?: boolean; messages?: string; tags?: TDatasetAttr['tags'] } = {},
): TDatasetAttr {
  return {
    name: '',
    fileName: '',
    formatting,
    ranking: opts.ranking ?? false,
    columns: {
      prompt: 'instruction',
      query: 'input',
      response: 'output',
      history: 'history',
      messages: opts.messages ?? 'conversations',
      system: 'system',
      tools: 'tools',
      kto_tag: opts.kto ? 'label' : undefined,
      chosen: 'chosen',
      rejected: 'rejected',
    },
    tags: opts.tags ?? DEFAULT_TAGS,
  };
}
