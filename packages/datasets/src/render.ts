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

/** Turns as ChatML text, `<|im_start|>role\ncontent<|im_end|>\n` each. */
export function chatml(messages: TMessage[]): string {
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

const jsonOrText = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

export type TSegment = {
  text: string;
  role: string /** true where the trainer computes loss (labels set). */;
  loss: boolean;
};

/**
 * A row laid out as LLaMA-Factory's `qwen` template lays it out, cut into segments marked with whether they carry
 * loss, for the preview that highlights what the model learns. Assistant turns carry loss (`{content}<|im_end|>\n`)
 * unless `weight: 0`; the `<|im_start|>assistant\n` header belongs to the prompt, as in LLaMA-Factory. Tool calls
 * and results use Qwen's `<tool_call>` / `<tool_response>` wrappers; `tools` definitions are not shown. Text rows
 * are all loss (pre-training); a preference row shows its prompt and the preferred reply.
 */
export function lossSegments(row: TCanonicalRow, opts: { defaultSystem?: string } = {}): TSegment[] {
  const kind = canonicalKind(row);
  if (kind === 'text') return [{ text: (row as { text: string }).text, role: 'text', loss: true }];
  const messages =
    kind === 'preference'
      ? [
          ...(row as Extract<TCanonicalRow, { input: unknown }>).input.messages,
          ...(row as Extract<TCanonicalRow, { input: unknown }>).preferred_output,
        ]
      : (row as { messages: TMessage[] }).messages;
  const out: TSegment[] = [];
  const push = (text: string, role: string, loss: boolean) => {
    const last = out.at(-1);
    if (last && last.loss === loss && last.role === role) last.text += text;
    else out.push({ text, role, loss });
  };
  const system = messages[0]?.role === 'system' ? messages[0].content : opts.defaultSystem;
  if (system) push(`<|im_start|>system\n${system}<|im_end|>\n`, 'system', false);
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'assistant') {
      const body = m.tool_calls
        ? m.tool_calls
            .map(
              (c) =>
                `<tool_call>\n${JSON.stringify({ name: c.function.name, arguments: jsonOrText(c.function.arguments) })}\n</tool_call>`,
            )
            .join('\n')
        : (m.content ?? '');
      push(`${body}<|im_end|>\n`, 'assistant', m.weight !== 0);
      continue;
    }
    const body = m.role === 'tool' ? `<tool_response>\n${m.content ?? ''}\n</tool_response>` : (m.content ?? '');
    push(`<|im_start|>user\n${body}<|im_end|>\n<|im_start|>assistant\n`, m.role, false);
  }
  return out;
}
