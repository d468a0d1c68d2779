import { detail, type TDetailCode } from '../details';
import type { TProblemCode } from '../problems';
import type { TContainer } from '../types';

// Splitting an uploaded byte stream into rows with bounded memory: JSONL line by line, a `.json` array element by
// element with a byte-level scanner (a 1 GB array is never held whole), CSV record by record. Each row's bytes are
// capped at maxRowBytes; a row over the cap is skipped to its end and reported, never buffered.

/** Anything the validator can read: a Node Readable, a web ReadableStream's async iterator, chunks, or one blob. */
export type TSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> | Uint8Array | string;

export type TRecord =
  | { kind: 'value'; value: unknown; line: number }
  /**
   * `fileLevel`: about the file's structure (e.g. a missing closing `]`), not one row; it does not count as a row.
   * `text`: the row as written, when it could be decoded (invalid JSON) — kept so the row can be shown and fixed.
   */
  | {
      kind: 'problem';
      code: TProblemCode;
      line: number;
      detail?: string;
      detailCode?: TDetailCode;
      params?: Record<string, string | number>;
      fileLevel?: true;
      text?: string;
    };

export type TReadLimits = { maxBytes: number; maxRowBytes: number };

const enc = new TextEncoder();

export async function* chunksOf(source: TSource): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    yield enc.encode(source);
    return;
  }
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const c of source as AsyncIterable<Uint8Array | string>) {
    yield typeof c === 'string' ? enc.encode(c) : c;
  }
}

export type TReadState = { bytes: number; tooLarge: boolean; limit: number };

/** Cuts the byte stream at `state.limit` (which may be lowered while reading); `state.tooLarge` says it happened. */
async function* capped(chunks: AsyncIterable<Uint8Array>, state: TReadState) {
  for await (const c of chunks) {
    const room = state.limit - state.bytes;
    if (c.length > room) {
      state.tooLarge = true;
      if (room > 0) {
        state.bytes += room;
        yield c.subarray(0, room);
      }
      return;
    }
    state.bytes += c.length;
    yield c;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function isBlank(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

/** Decodes and parses one row's bytes; problems instead of exceptions. */
function parseRow(bytes: Uint8Array, line: number): TRecord {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { kind: 'problem', code: 'not_utf8', line };
  }
  try {
    return { kind: 'value', value: JSON.parse(text), line };
  } catch (e) {
    return { kind: 'problem', code: 'invalid_json', line, detail: (e as Error).message.slice(0, 200), text };
  }
}

/** JSONL: one JSON value per line; blank lines are skipped. */
async function* jsonlRecords(chunks: AsyncIterable<Uint8Array>, maxRowBytes: number): AsyncGenerator<TRecord> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  let line = 1;
  const finish = function* (): Generator<TRecord> {
    if (overflow) yield { kind: 'problem', code: 'row_too_large', line, ...detail('over_bytes', { n: maxRowBytes }) };
    else if (size > 0) {
      const b = concat(parts, size);
      if (!isBlank(b)) yield parseRow(b, line);
    }
    parts = [];
    size = 0;
    overflow = false;
  };
  for await (const chunk of chunks) {
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!overflow && end > start) {
        if (size + (end - start) > maxRowBytes) {
          overflow = true;
          parts = [];
        } else parts.push(chunk.subarray(start, end));
        size += end - start;
      } else if (overflow) size += end - start;
      if (nl === -1) break;
      yield* finish();
      line++;
      start = nl + 1;
    }
  }
  yield* finish();
}

/**
 * A top-level JSON array, element by element. The scanner only tracks strings and bracket depth to find where
 * each element ends; JSON.parse then checks the element, so a broken element is one invalid_json problem and the
 * scan goes on at the next comma.
 */
async function* jsonArrayRecords(chunks: AsyncIterable<Uint8Array>, maxRowBytes: number): AsyncGenerator<TRecord> {
  type TState = 'start' | 'between' | 'element' | 'after';
  let state = 'start' as TState;
  let line = 1;
  let elLine = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  let segStart = 0;
  let trailing = false; // a problem after the closing bracket was already reported
  let sawComma = false;

  const take = (chunk: Uint8Array, from: number, to: number) => {
    if (to <= from) return;
    if (!overflow && size + (to - from) > maxRowBytes) {
      overflow = true;
      parts = [];
    }
    if (!overflow) parts.push(chunk.subarray(from, to));
    size += to - from;
  };
  const endElement = (): TRecord => {
    const r: TRecord = overflow
      ? { kind: 'problem', code: 'row_too_large', line: elLine, ...detail('over_bytes', { n: maxRowBytes }) }
      : parseRow(concat(parts, size), elLine);
    parts = [];
    size = 0;
    overflow = false;
    return r;
  };

  for await (const chunk of chunks) {
    segStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
          else if (c === 0x0a) line++;
          continue;
        }
        if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
        else if (c === 0x0a) line++;
        else if (depth === 0 && (c === 0x2c || c === 0x5d)) {
          take(chunk, segStart, i);
          yield endElement();
          state = c === 0x2c ? 'between' : 'after';
          sawComma = c === 0x2c;
        }
        continue;
      }
      if (c === 0x0a) {
        line++;
        continue;
      }
      if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
      if (state === 'start') {
        if (c === 0x5b) state = 'between';
        else {
          yield {
            kind: 'problem',
            code: 'invalid_json',
            line,
            ...detail('json_not_list'),
          };
          return;
        }
      } else if (state === 'between') {
        if (c === 0x5d) {
          if (sawComma)
            yield {
              kind: 'problem',
              code: 'invalid_json',
              line,
              ...detail('trailing_comma'),
              fileLevel: true,
            };
          state = 'after';
        } else if (c === 0x2c) {
          yield {
            kind: 'problem',
            code: 'invalid_json',
            line,
            ...detail('empty_element'),
            fileLevel: true,
          };
        } else {
          state = 'element';
          elLine = line;
          depth = 0;
          inString = false;
          escaped = false;
          segStart = i;
          // Re-read this byte as part of the element.
          i--;
        }
      } else if (state === 'after' && !trailing) {
        trailing = true;
        yield {
          kind: 'problem',
          code: 'invalid_json',
          line,
          ...detail('text_after_list'),
          fileLevel: true,
        };
      }
    }
    if (state === 'element') take(chunk, segStart, chunk.length);
  }
  if (state === 'element') {
    yield endElement();
    yield {
      kind: 'problem',
      code: 'invalid_json',
      line,
      ...detail('unterminated_list'),
      fileLevel: true,
    };
  } else if (state === 'between') {
    yield {
      kind: 'problem',
      code: 'invalid_json',
      line,
      ...detail('unterminated_list'),
      fileLevel: true,
    };
  }
}

/** Reads ahead until the first significant bytes, to tell the container from the content. */
async function sniff(chunks: AsyncIterator<Uint8Array>): Promise<{ head: Uint8Array[]; first: number[] }> {
  const head: Uint8Array[] = [];
  const first: number[] = [];
  while (first.length < 4) {
    const n = await chunks.next();
    if (n.done) break;
    head.push(n.value);
    for (const b of n.value) {
      if (first.length === 0 && (b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a)) continue;
      first.push(b);
      if (first.length >= 4) break;
    }
  }
  return { head, first };
}

export function containerFromName(fileName: string | undefined): TContainer | undefined {
  const ext = fileName?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'json') return 'json';
  if (ext === 'csv' || ext === 'tsv') return 'csv';
  if (ext === 'xlsx') return 'xlsx';
  return undefined;
}

/**
 * Decides the container: XLSX by its zip signature, a JSON array by its `[`, CSV by extension, JSONL otherwise.
 * A `.json` file that holds JSONL (one object per line, as many do) is read as JSONL.
 */
export async function openSource(
  source: TSource,
  limits: TReadLimits,
  hint?: { fileName?: string; container?: TContainer },
): Promise<{ container: TContainer; chunks: AsyncIterable<Uint8Array>; state: TReadState }> {
  const state: TReadState = { bytes: 0, tooLarge: false, limit: limits.maxBytes };
  const it = capped(chunksOf(source), state)[Symbol.asyncIterator]();
  const { head, first } = await sniff(it);
  // A UTF-8 byte order mark is not content.
  if (head.length > 0 && head[0][0] === 0xef && head[0][1] === 0xbb && head[0][2] === 0xbf) {
    head[0] = head[0].subarray(3);
    if (first[0] === 0xef) first.splice(0, 3);
  }
  const chunks = (async function* () {
    yield* head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
  const byName = hint?.container ?? containerFromName(hint?.fileName);
  let container: TContainer;
  if (hint?.container) container = hint.container;
  else if (first[0] === 0x50 && first[1] === 0x4b && first[2] === 0x03 && first[3] === 0x04) container = 'xlsx';
  else if (first[0] === 0x5b) container = 'json';
  else if (first[0] === 0x7b) container = 'jsonl';
  else container = byName === 'csv' ? 'csv' : (byName ?? 'jsonl');
  return { container, chunks, state };
}

export function jsonRecords(container: 'json' | 'jsonl', chunks: AsyncIterable<Uint8Array>, maxRowBytes: number) {
  return container === 'json' ? jsonArrayRecords(chunks, maxRowBytes) : jsonlRecords(chunks, maxRowBytes);
}
