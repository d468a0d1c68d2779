import { detail } from '../details';
import { ROLES, type TChatRow, type TMessage, type TRole, type TTool, type TToolCall } from '../types';
import { isObj, preview, type TConverted, type TIssue, type TObj } from './issues';

// OpenAI's chat fine-tuning rows, checked the way OpenAI's data-preparation guide checks them, plus the
// `tools`/`tool_calls` shapes of function calling and the per-turn `weight`.

const MESSAGE_KEYS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'weight', 'function_call']);

/** Text of an OpenAI content value: a string, or a list of `{type: "text", text}` parts (joined). */
function contentText(c: unknown): string | undefined {
  if (typeof c === 'string') return c;
  if (Array.isArray(c) && c.length > 0 && c.every((p) => isObj(p) && p.type === 'text' && typeof p.text === 'string')) {
    return c.map((p) => (p as TObj).text as string).join('');
  }
  return undefined;
}

export function parseToolCalls(v: unknown, field: string, issues: TIssue[]): TToolCall[] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    issues.push({ code: 'invalid_tool_call', field, ...detail('expected_non_empty_list_got', { value: preview(v) }) });
    return undefined;
  }
  const out: TToolCall[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    const fn = isObj(c) ? c.function : undefined;
    if (!isObj(fn) || typeof fn.name !== 'string' || fn.name === '') {
      issues.push({ code: 'invalid_tool_call', field: `${field}[${i}]`, ...detail('no_function_name') });
      return undefined;
    }
    const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    const id = isObj(c) && typeof c.id === 'string' ? c.id : `call_${i}`;
    out.push({ id, type: 'function', function: { name: fn.name, arguments: args } });
  }
  return out;
}

/**
 * `tools` as OpenAI writes it (`[{type: "function", function: {...}}]`), or as LLaMA-Factory/glaive write it: a
 * JSON string or list of bare function definitions (`[{name, description, parameters}]`). Empty means none.
 */
export function parseTools(v: unknown, field: string, issues: TIssue[]): TTool[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let list: unknown = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch {
      issues.push({ code: 'invalid_tools', field, ...detail('not_json', { value: preview(v) }) });
      return undefined;
    }
  }
  if (isObj(list)) list = [list];
  if (!Array.isArray(list)) {
    issues.push({ code: 'invalid_tools', field, ...detail('expected_list_got', { value: preview(list) }) });
    return undefined;
  }
  if (list.length === 0) return undefined;
  const out: TTool[] = [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    const fn = isObj(t) && isObj(t.function) ? t.function : t;
    if (!isObj(fn) || typeof fn.name !== 'string' || fn.name === '') {
      issues.push({ code: 'invalid_tools', field: `${field}[${i}]`, ...detail('tool_without_name') });
      return undefined;
    }
    const f: TTool['function'] = { name: fn.name };
    if (typeof fn.description === 'string') f.description = fn.description;
    if (isObj(fn.parameters)) f.parameters = fn.parameters;
    out.push({ type: 'function', function: f });
  }
  return out;
}

/**
 * Checks and normalises a list of OpenAI messages (`field` names the list in problems). Returns undefined when a
 * message is unreadable; issues collect everything found (we do not stop at the first, so a report shows all).
 */
export function parseMessages(v: unknown, field: string, issues: TIssue[]): TMessage[] | undefined {
  if (!Array.isArray(v)) {
    issues.push({
      code: 'missing_messages_list',
      field,
      ...(v === undefined ? detail('absent') : detail('got', { value: preview(v) })),
    });
    return undefined;
  }
  const out: TMessage[] = [];
  let broken = false;
  for (let i = 0; i < v.length; i++) {
    const m = v[i];
    const f = `${field}[${i}]`;
    if (!isObj(m)) {
      issues.push({ code: 'data_type', field: f, ...detail('message_not_object', { value: preview(m) }) });
      broken = true;
      continue;
    }
    if (!('role' in m)) {
      issues.push({ code: 'message_missing_key', field: `${f}.role` });
      broken = true;
      continue;
    }
    for (const k of Object.keys(m)) {
      if (!MESSAGE_KEYS.has(k)) issues.push({ code: 'message_unrecognized_key', field: `${f}.${k}` });
    }
    const role = m.role;
    if (typeof role !== 'string' || !ROLES.includes(role as TRole)) {
      issues.push({ code: 'unrecognized_role', field: `${f}.role`, detail: preview(role) });
      broken = true;
      continue;
    }
    const msg: TMessage = { role: role as TRole, content: null };
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      if (role !== 'assistant') {
        issues.push({ code: 'invalid_tool_call', field: `${f}.tool_calls`, ...detail('tool_calls_not_assistant') });
        broken = true;
      } else {
        const calls = parseToolCalls(m.tool_calls, `${f}.tool_calls`, issues);
        if (calls) msg.tool_calls = calls;
        else broken = true;
      }
    }
    if (!('content' in m) && !msg.tool_calls) {
      issues.push({ code: 'message_missing_key', field: `${f}.content` });
      broken = true;
      continue;
    }
    const text = contentText(m.content);
    if (text !== undefined && (text !== '' || msg.tool_calls)) msg.content = text;
    else if (!(msg.tool_calls && (m.content === null || m.content === undefined || m.content === ''))) {
      issues.push({ code: 'missing_content', field: `${f}.content`, detail: preview(m.content) });
      broken = true;
    }
    if (typeof m.name === 'string') msg.name = m.name;
    if (role === 'tool' && typeof m.tool_call_id === 'string') msg.tool_call_id = m.tool_call_id;
    if ('weight' in m) {
      if (role !== 'assistant' || (m.weight !== 0 && m.weight !== 1)) {
        issues.push({ code: 'invalid_weight', field: `${f}.weight`, detail: preview(m.weight) });
        broken = true;
      } else msg.weight = m.weight;
    }
    out.push(msg);
  }
  return broken ? undefined : out;
}

export const hasAssistant = (ms: TMessage[]): boolean => ms.some((m) => m.role === 'assistant');

export function convertOpenAIChat(row: TObj): TConverted {
  const issues: TIssue[] = [];
  const messages = parseMessages(row.messages, 'messages', issues);
  const tools = parseTools(row.tools, 'tools', issues);
  if (messages && !hasAssistant(messages))
    issues.push({ code: 'example_missing_assistant_message', field: 'messages' });
  if (!messages || issues.some((i) => i.code !== 'message_unrecognized_key')) return { issues };
  const out: TChatRow = { messages };
  if (tools) out.tools = tools;
  return { row: out, issues };
}

export function convertOpenAIPreference(row: TObj): TConverted {
  const issues: TIssue[] = [];
  if (!isObj(row.input)) {
    issues.push({
      code: 'missing_field',
      field: 'input',
      ...detail('expected_shape', { shape: '{"messages": [...]}' }),
    });
    return { issues };
  }
  const messages = parseMessages(row.input.messages, 'input.messages', issues);
  const tools = parseTools(row.input.tools, 'input.tools', issues);
  const pref = parseMessages(row.preferred_output, 'preferred_output', issues);
  const nonPref = parseMessages(row.non_preferred_output, 'non_preferred_output', issues);
  if (pref && !hasAssistant(pref))
    issues.push({ code: 'example_missing_assistant_message', field: 'preferred_output' });
  if (nonPref && !hasAssistant(nonPref)) {
    issues.push({ code: 'example_missing_assistant_message', field: 'non_preferred_output' });
  }
  if (!messages || !pref || !nonPref || issues.some((i) => i.code !== 'message_unrecognized_key')) return { issues };
  return {
    row: { input: tools ? { messages, tools } : { messages }, preferred_output: pref, non_preferred_output: nonPref },
    issues,
  };
}

/** A non-empty string field, else an issue. */
export function textField(row: TObj, key: string, issues: TIssue[]): string | undefined {
  const v = row[key];
  if (v === undefined || v === null) {
    issues.push({ code: 'missing_field', field: key });
    return undefined;
  }
  if (typeof v !== 'string') {
    issues.push({ code: 'invalid_field_type', field: key, ...detail('expected_text_got', { value: preview(v) }) });
    return undefined;
  }
  if (v.trim() === '') {
    issues.push({ code: 'missing_content', field: key });
    return undefined;
  }
  return v;
}

/** Legacy OpenAI `{prompt, completion}` rows and CSV/XLSX prompt/response columns: one user turn, one reply. */
export function convertPromptCompletion(row: TObj): TConverted {
  const issues: TIssue[] = [];
  const responseKey = 'completion' in row ? 'completion' : 'response';
  const prompt = textField(row, 'prompt', issues);
  const response = textField(row, responseKey, issues);
  let system: string | undefined;
  if (row.system !== undefined && row.system !== null && row.system !== '') system = textField(row, 'system', issues);
  if (prompt === undefined || response === undefined || issues.length > 0) return { issues };
  const messages: TMessage[] = [];
  if (system) messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: prompt }, { role: 'assistant', content: response });
  return { row: { messages }, issues };
}

export function convertText(row: TObj): TConverted {
  const issues: TIssue[] = [];
  const text = textField(row, 'text', issues);
  return text === undefined ? { issues } : { row: { text }, issues };
}
