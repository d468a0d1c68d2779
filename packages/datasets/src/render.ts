import { canonicalKind, type TCanonicalRow, type TMessage } from './types';

// Text views of a canonical row: for counting tokens (ChatML, the layout of Qwen's template) and for search.

function messageText(m: TMessage): string {
  if (m.tool_calls) {
    return m.tool_calls
      .map((c) => JSON.stringify({ name: c.function.name, arguments: c.function.arguments }))
      .join('\n');
  }
  return m.content ?? '';
}

function chatml(messages: TMessage[]): string {
  let s = '';
  for (const m of messages) s += `<|im_start|>${m.role}\n${messageText(m)}<|im_end|>\n`;
  return s;
}

/**
 * The row as ChatML text (`<|im_start|>role\ncontent<|im_end|>\n` per turn), the layout Qwen's template trains
 * on; tools are not rendered (templates place them differently). A preference row renders its prompt and the
 * longer of its two replies, the longest sequence a trainer sees; a text row is the text itself.
 */
export function renderChatML(row: TCanonicalRow): string {
  const kind = canonicalKind(row);
  if (kind === 'text') return (row as { text: string }).text;
  if (kind === 'preference') {
    const p = row as Extract<TCanonicalRow, { input: unknown }>;
    const a = chatml(p.preferred_output);
    const b = chatml(p.non_preferred_output);
    return chatml(p.input.messages) + (a.length >= b.length ? a : b);
  }
  return chatml((row as { messages: TMessage[] }).messages);
}

/** Every turn of a row with where it sits, for search and previews. */
export function rowTurns(row: TCanonicalRow): { path: string; role: string; text: string }[] {
  const kind = canonicalKind(row);
  if (kind === 'text') return [{ path: 'text', role: 'text', text: (row as { text: string }).text }];
  const out: { path: string; role: string; text: string }[] = [];
  const add = (ms: TMessage[], base: string) => {
    ms.forEach((m, i) => {
      out.push({ path: `${base}[${i}]`, role: m.role, text: messageText(m) });
    });
  };
  if (kind === 'preference') {
    const p = row as Extract<TCanonicalRow, { input: unknown }>;
    add(p.input.messages, 'input.messages');
    add(p.preferred_output, 'preferred_output');
    add(p.non_preferred_output, 'non_preferred_output');
  } else add((row as { messages: TMessage[] }).messages, 'messages');
  return out;
}
