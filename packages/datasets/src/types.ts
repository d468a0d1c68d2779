// The canonical dataset row: OpenAI's fine-tuning shapes, which every imported format is converted to.
// Chat (SFT) rows are OpenAI chat rows; preference rows are OpenAI's DPO rows; raw text is for continued
// pre-training. A canonical JSONL file holds one kind only (a mixed file is reported as `mixed_formats`).

export type TRole = 'system' | 'user' | 'assistant' | 'tool';
export const ROLES: readonly TRole[] = Object.freeze(['system', 'user', 'assistant', 'tool']);

export type TToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };

export type TMessage = {
  role: TRole;
  /** null only on an assistant turn that carries `tool_calls` (OpenAI's shape). */
  content: string | null;
  name?: string;
  tool_calls?: TToolCall[];
  /** On a `tool` turn: the id of the call it answers. */
  tool_call_id?: string;
  /** Assistant turns only: 0 = no loss on this turn, 1 = loss (the default). */
  weight?: 0 | 1;
};

/** OpenAI's `tools` entry (function calling). */
export type TTool = {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
};

/** SFT row. `label` is set on KTO rows only (LLaMA-Factory `kto_tag`: is the last reply desirable). */
export type TChatRow = { messages: TMessage[]; tools?: TTool[]; label?: boolean };

/** OpenAI DPO row: a prompt conversation and two alternative assistant continuations. */
export type TPreferenceRow = {
  input: { messages: TMessage[]; tools?: TTool[] };
  preferred_output: TMessage[];
  non_preferred_output: TMessage[];
};

/** Raw text for continued pre-training. */
export type TTextRow = { text: string };

export type TCanonicalRow = TChatRow | TPreferenceRow | TTextRow;
export type TCanonicalKind = 'chat' | 'preference' | 'text';

export function canonicalKind(row: TCanonicalRow): TCanonicalKind {
  if ('text' in row) return 'text';
  if ('input' in row) return 'preference';
  return 'chat';
}

/** The source formats a row can be recognised as. */
export type TSourceFormat =
  | 'openai_chat' // {"messages": [{"role", "content"}...], "tools"?}
  | 'openai_preference' // {"input": {"messages"}, "preferred_output", "non_preferred_output"}
  | 'openai_prompt_completion' // legacy {"prompt", "completion"}; also CSV/XLSX prompt/response columns
  | 'alpaca' // LLaMA-Factory {"instruction", "input"?, "output", "system"?, "history"?}
  | 'alpaca_preference' // {"instruction", "input"?, "chosen", "rejected"} (strings)
  | 'sharegpt' // {"conversations": [{"from", "value"}], "system"?, "tools"?}
  | 'sharegpt_preference' // {"conversations", "chosen": {"from","value"}, "rejected": {...}}
  | 'kto' // {"messages" | "conversations", "label": boolean}
  | 'text' // {"text"}
  | 'llamafactory'; // any of the above, read through a dataset_info.json entry

/** How the bytes are laid out. */
export type TContainer = 'jsonl' | 'json' | 'csv' | 'xlsx';
