/**
 * The detail line of a dataset problem example as a stable code + parameters (issue 13, item 11). `detail` stays
 * the English sentence (the API's report, the downloaded report, the CLI); `detailCode` + `params` let the console
 * say it in the reader's language (`datasetDetails.<code>` in apps/console/messages). Values in params are the
 * row's own data (JSON previews, tags, numbers), never words. Details without a code (a JSON parser's or an XLSX
 * reader's own message, a detected format's reason) are shown as written.
 */

type TP = Record<string, string | number>;

export const DETAILS = Object.freeze({
  absent: () => 'absent',
  got: (p: { value: string }) => `got ${p.value}`,
  expected_text_got: (p: { value: string }) => `expected text, got ${p.value}`,
  expected_list_got: (p: { value: string }) => `expected a list, got ${p.value}`,
  expected_non_empty_list_got: (p: { value: string }) => `expected a non-empty list, got ${p.value}`,
  expected_boolean: () => 'expected true or false',
  expected_boolean_got: (p: { value: string }) => `expected true or false, got ${p.value}`,
  expected_shape: (p: { shape: string }) => `expected ${p.shape}`,
  expected_shape_got: (p: { shape: string; value: string }) => `expected ${p.shape}, got ${p.value}`,
  expected_history: () => 'expected a list of [query, reply] pairs',
  not_json: (p: { value: string }) => `not JSON: ${p.value}`,
  no_function_name: () => 'no function.name',
  tool_without_name: () => 'a tool has no "name"',
  tool_calls_not_assistant: () => 'only assistant turns call tools',
  message_not_object: (p: { value: string }) => `a message must be an object, got ${p.value}`,
  turn_not_object: (p: { value: string }) => `a turn must be an object, got ${p.value}`,
  /** `expected`: the allowed tags joined by "/" (data, not words). */
  turn_order: (p: { turn: number; tag: string; expected: string }) =>
    `turn ${p.turn} is "${p.tag}", expected ${p.expected.split('/').join(' or ')}`,
  reply_tags: (p: { a: string; b: string }) => `a reply must be ${p.a} or ${p.b}`,
  preference_prompt_end: () => 'a preference prompt must end with a user turn',
  last_turn_reply: (p: { n: number }) => `${p.n} turns; the last must be a reply`,
  /** `kind`: list, null, string, number, boolean (a JSON type name). */
  row_not_object: (p: { kind: string }) => `a row must be a JSON object, got ${p.kind === 'list' ? 'a list' : p.kind}`,
  more_levels: (p: { n: number }) => `more than ${p.n} levels`,
  format_differs: (p: { row: string; file: string }) => `this row is ${p.row}, the file is ${p.file}`,
  kind_differs: (p: { row: string; file: string }) =>
    `this row converts to a ${p.row} row, the file's rows are ${p.file} rows`,
  tokens_over: (p: { n: number; limit: number }) => `${p.n} tokens, limit ${p.limit}`,
  more_rows: (p: { n: number }) => `more than ${p.n} rows`,
  more_bytes: (p: { n: number }) => `more than ${p.n} bytes`,
  over_bytes: (p: { n: number }) => `over ${p.n} bytes`,
  over_chars: (p: { n: number }) => `over ${p.n} characters`,
  cells_vs_header: (p: { cells: number; columns: number }) =>
    `${p.cells} cells, but the header has ${p.columns} columns`,
  reading_stopped: () => 'reading stopped at this line',
  json_not_list: () => 'a .json file must be a list of rows: [ {...}, {...} ]',
  trailing_comma: () => 'a comma before the closing ]',
  empty_element: () => 'an empty element (two commas)',
  text_after_list: () => 'text after the closing ] of the list',
  unterminated_list: () => 'the file ends before the closing ] of the list',
} satisfies Record<string, (p: never) => string>);

export type TDetailCode = keyof typeof DETAILS;
export const DETAIL_CODES = Object.keys(DETAILS) as TDetailCode[];

type TArgs<C extends TDetailCode> = Parameters<(typeof DETAILS)[C]> extends [] ? [] : Parameters<(typeof DETAILS)[C]>;

/** The fields of a problem's detail: the English sentence and its code + parameters. */
export function detail<C extends TDetailCode>(
  code: C,
  ...[params]: TArgs<C>
): { detail: string; detailCode: C; params?: TP } {
  const p = params as TP | undefined;
  return { detail: (DETAILS[code] as (p?: TP) => string)(p), detailCode: code, ...(p ? { params: p } : {}) };
}
