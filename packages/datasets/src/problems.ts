// Problem codes of the validator. Where OpenAI's fine-tuning data checks have a name for a problem we use it
// (missing_messages_list, message_missing_key, message_unrecognized_key, unrecognized_role, missing_content,
// example_missing_assistant_message, invalid_weight, data_type), so messages read the same as theirs.

import type { TDetailCode } from './details';

export type TSeverity = 'error' | 'warning';

export const PROBLEMS = Object.freeze({
  // whole file
  empty_file: { severity: 'error', message: 'The file holds no rows. Upload a file with at least one example.' },
  file_too_large: {
    severity: 'error',
    message: 'The file is larger than the size limit; reading stopped there. Split it or raise maxBytes.',
  },
  too_many_rows: {
    severity: 'error',
    message: 'The file has more rows than the row limit; reading stopped there. Split it or raise maxRows.',
  },
  unreadable_file: {
    severity: 'error',
    message: 'The file cannot be read as its type (for example a broken XLSX workbook). Export it again and upload.',
  },
  not_utf8: { severity: 'error', message: 'The row is not valid UTF-8 text. Save the file as UTF-8 and upload again.' },
  invalid_json: {
    severity: 'error',
    message: 'The row is not valid JSON. In JSONL every line must be one complete JSON object; fix the syntax.',
  },
  row_too_large: {
    severity: 'error',
    message: 'The row is larger than the per-row byte limit. Shorten it, or raise maxRowBytes.',
  },
  too_deeply_nested: {
    severity: 'error',
    message: 'The row nests lists or objects deeper than the nesting limit. Flatten it, or raise maxNesting.',
  },
  unreadable_row: {
    severity: 'error',
    message:
      'The row could not be checked (the detail says why). Simplify the row; if it looks valid, report it as a bug.',
  },
  unknown_format: {
    severity: 'error',
    message:
      'The row matches no known format. Use {"messages": [...]}, alpaca (instruction/output), sharegpt (conversations), preference pairs, {"text": ...}, or prompt/response columns.',
  },
  ambiguous_format: {
    severity: 'error',
    message:
      'The row matches more than one format, so it is unclear how to read it. Remove the keys of the formats you did not mean.',
  },
  mixed_formats: {
    severity: 'error',
    message: 'The row is in a different format from the first row of the file. Keep one format per file.',
  },
  // row shape (OpenAI's vocabulary)
  data_type: {
    severity: 'error',
    message: 'The row is not a JSON object. Each row must be an object such as {"messages": [...]}.',
  },
  missing_messages_list: {
    severity: 'error',
    message: 'The row has no list of messages. Add a "messages" (or "conversations") list of turns.',
  },
  message_missing_key: {
    severity: 'error',
    message: 'A message lacks a required key ("role" and "content", or "from" and "value"). Add the key.',
  },
  message_unrecognized_key: {
    severity: 'warning',
    message:
      'A message has a key that is not used for training; it is dropped. Remove it if it was meant to be content.',
  },
  unrecognized_role: {
    severity: 'error',
    message: "A message has a role that is not system, user, assistant or tool (or the dataset's tags). Fix the role.",
  },
  missing_content: {
    severity: 'error',
    message: 'A message or field has no text content. Give every turn a string content (or tool calls).',
  },
  example_missing_assistant_message: {
    severity: 'error',
    message: 'The example has no assistant reply to learn from. Add an assistant message at the end.',
  },
  identical_preference_outputs: {
    severity: 'error',
    message:
      'The preferred and the non-preferred (chosen and rejected) answers are the same, so the pair teaches nothing. Give a worse rejected answer or drop the row.',
  },
  invalid_weight: {
    severity: 'error',
    message: 'A "weight" is not 0 or 1, or is set on a non-assistant turn. Use 0 or 1 on assistant turns.',
  },
  invalid_role_order: {
    severity: 'error',
    message:
      'The turns are out of order (user/observation and assistant/function_call must alternate, as LLaMA-Factory requires). Fix the order.',
  },
  invalid_tool_call: {
    severity: 'error',
    message: 'A function call is not JSON of the form {"name": ..., "arguments": {...}}. Fix the call.',
  },
  invalid_tools: {
    severity: 'error',
    message: 'The "tools" value is not a JSON list of function definitions with a "name". Fix or remove it.',
  },
  missing_field: { severity: 'error', message: 'A required field is missing. Add it.' },
  invalid_field_type: {
    severity: 'error',
    message: 'A field has the wrong type (for example a number where text is expected). Fix its type.',
  },
  too_many_tokens: {
    severity: 'error',
    message: 'The row has more tokens than the per-row token limit. Shorten it, split it, or raise maxTokensPerRow.',
  },
  duplicate_row: {
    severity: 'warning',
    message:
      'The row is an exact duplicate of an earlier row. Duplicates over-weight one example; remove them unless meant.',
  },
  unreplaced_placeholder: {
    severity: 'warning',
    message: 'The row holds a {{placeholder}} (such as {{name}}). Give a value for it at import so it is replaced.',
  },
} as const satisfies Record<string, { severity: TSeverity; message: string }>);

export type TProblemCode = keyof typeof PROBLEMS;

/** One problem found. `line` is 1-based (the line the row starts on); `row` is the 0-based row index, if known. */
export type TProblem = {
  code: TProblemCode;
  line: number;
  row?: number;
  field?: string;
  detail?: string;
  /** The detail as a code + parameters (details.ts), for readers in other languages. */
  detailCode?: TDetailCode;
  params?: Record<string, string | number>;
};

export type TProblemGroup = {
  code: TProblemCode;
  severity: TSeverity;
  count: number;
  /** The human sentence for this code, with the fix. */
  message: string;
  /** The first `maxExamplesPerCode` problems of this code, in file order. */
  examples: TProblem[];
};

export function severityOf(code: TProblemCode): TSeverity {
  return PROBLEMS[code].severity;
}
