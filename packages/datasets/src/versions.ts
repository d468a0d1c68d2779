import { jsonRecords, openSource, type TSource } from './parse/records';
import { rowTurns } from './render';
import { canonicalKind, type TCanonicalRow, type TMessage } from './types';

// Working with stored versions: reading canonical JSONL back, diffing two versions, searching inside rows.

/** Reads a canonical JSONL file (as written by toCanonicalJsonl). Throws on a line that is not JSON: ours only. */
export async function* readCanonicalJsonl(source: TSource): AsyncGenerator<TCanonicalRow> {
  const { chunks } = await openSource(
    source,
    { maxBytes: Number.MAX_SAFE_INTEGER, maxRowBytes: Number.MAX_SAFE_INTEGER },
    { container: 'jsonl' },
  );
  for await (const r of jsonRecords('jsonl', chunks, Number.MAX_SAFE_INTEGER)) {
    if (r.kind === 'problem') throw new Error(`canonical JSONL line ${r.line}: ${r.code} ${r.detail ?? ''}`);
    yield r.value as TCanonicalRow;
  }
}

/**
 * The default diff key: what the row asks, not what it answers, so an edited reply shows as "changed" rather than
 * removed + added. Chat: every message before the last assistant turn (+ tools); preference: the input; text: the
 * text itself (a text row has no question, so an edit is a remove + add).
 */
export function defaultRowKey(row: TCanonicalRow): string {
  const kind = canonicalKind(row);
  if (kind === 'text') return JSON.stringify(row);
  if (kind === 'preference') return JSON.stringify((row as { input: unknown }).input);
  const r = row as { messages: TMessage[]; tools?: unknown };
  let last = r.messages.length - 1;
  while (last >= 0 && r.messages[last].role !== 'assistant') last--;
  return JSON.stringify([r.messages.slice(0, Math.max(0, last)), r.tools ?? null]);
}

export type TRowRef = { index: number; key: string; row: TCanonicalRow };
/** One field that differs, by its path in the row (`messages[1].content`); a side is absent where the field is. */
export type TFieldChange = { path: string; before?: unknown; after?: unknown };
export type TRowChange = {
  key: string;
  indexA: number;
  indexB: number;
  before: TCanonicalRow;
  after: TCanonicalRow;
  /** Only what changed, field by field (at most FIELD_CHANGES_MAX; `fieldsTruncated` says when there were more). */
  fields: TFieldChange[];
  fieldsTruncated: boolean;
};
export type TVersionDiff = {
  added: TRowRef[];
  removed: TRowRef[];
  changed: TRowChange[];
  unchanged: number;
  /** Totals (each list holds only the page [offset, offset + maxListed)). */
  counts: { added: number; removed: number; changed: number };
};

export const FIELD_CHANGES_MAX = 50;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The leaves that differ between two JSON values, by path: objects key by key, lists item by item (a message
 * edited in place is one change of `messages[i].content`, not a new row). A value whose type changed, or that is
 * only on one side, is one change at its own path.
 */
export function fieldChanges(before: unknown, after: unknown, max = FIELD_CHANGES_MAX): TFieldChange[] {
  const out: TFieldChange[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length > max) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`);
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const c: TFieldChange = { path: path || '(row)' };
    if (a !== undefined) c.before = a;
    if (b !== undefined) c.after = b;
    out.push(c);
  };
  walk(before, after, '');
  return out;
}

/**
 * Rows added, removed and changed from version `a` to `b`, matched by a stable key (default defaultRowKey). Rows
 * with equal keys are matched in order (the 2nd occurrence in a with the 2nd in b). Holds `a` in memory. Each list
 * is paged: it holds its entries [offset, offset + maxListed), in row order; `counts` are the totals.
 */
export async function diffVersions(
  a: Iterable<TCanonicalRow> | AsyncIterable<TCanonicalRow>,
  b: Iterable<TCanonicalRow> | AsyncIterable<TCanonicalRow>,
  opts: { key?: (row: TCanonicalRow) => string; maxListed?: number; offset?: number } = {},
): Promise<TVersionDiff> {
  const keyOf = opts.key ?? defaultRowKey;
  const max = opts.maxListed ?? 1000;
  const offset = opts.offset ?? 0;
  const onPage = (count: number, list: unknown[]) => count > offset && list.length < max;
  const occurrences = new Map<string, number>();
  const nthKey = (row: TCanonicalRow) => {
    const k = keyOf(row);
    const n = occurrences.get(k) ?? 0;
    occurrences.set(k, n + 1);
    return n === 0 ? k : `${k}\u0000${n}`;
  };
  const inA = new Map<string, { index: number; row: TCanonicalRow; json: string }>();
  let i = 0;
  for await (const row of a) inA.set(nthKey(row), { index: i++, row, json: JSON.stringify(row) });
  occurrences.clear();
  const diff: TVersionDiff = {
    added: [],
    removed: [],
    changed: [],
    unchanged: 0,
    counts: { added: 0, removed: 0, changed: 0 },
  };
  const shown = (k: string) => k.split('\u0000')[0];
  let j = 0;
  for await (const row of b) {
    const index = j++;
    const key = nthKey(row);
    const old = inA.get(key);
    if (!old) {
      diff.counts.added++;
      if (onPage(diff.counts.added, diff.added)) diff.added.push({ index, key: shown(key), row });
      continue;
    }
    inA.delete(key);
    if (old.json === JSON.stringify(row)) diff.unchanged++;
    else {
      diff.counts.changed++;
      if (onPage(diff.counts.changed, diff.changed)) {
        const fields = fieldChanges(old.row, row);
        diff.changed.push({
          key: shown(key),
          indexA: old.index,
          indexB: index,
          before: old.row,
          after: row,
          fields: fields.slice(0, FIELD_CHANGES_MAX),
          fieldsTruncated: fields.length > FIELD_CHANGES_MAX,
        });
      }
    }
  }
  // What is left of `a` was removed; a Map iterates in insertion order, so these come in row order.
  for (const [key, old] of inA) {
    diff.counts.removed++;
    if (onPage(diff.counts.removed, diff.removed))
      diff.removed.push({ index: old.index, key: shown(key), row: old.row });
  }
  return diff;
}

export type TSearchHit = { path: string; role: string; snippet: string };
export type TSearchResult = { total: number; matches: { index: number; row: TCanonicalRow; hits: TSearchHit[] }[] };

/**
 * Rows whose turns contain `query` (case-insensitive unless asked), optionally only in turns of one role; `total`
 * counts all matching rows, `matches` is the page [offset, offset + limit) with a snippet around each hit.
 */
export async function searchRows(
  rows: Iterable<TCanonicalRow> | AsyncIterable<TCanonicalRow>,
  query: string,
  opts: { offset?: number; limit?: number; caseSensitive?: boolean; role?: string; snippetChars?: number } = {},
): Promise<TSearchResult> {
  const offset = opts.offset ?? 0;
  const limit = opts.limit ?? 20;
  const around = opts.snippetChars ?? 40;
  const norm = (s: string) => (opts.caseSensitive ? s : s.toLowerCase());
  const q = norm(query);
  const result: TSearchResult = { total: 0, matches: [] };
  if (q === '') return result;
  let index = 0;
  for await (const row of rows) {
    const i = index++;
    const hits: TSearchHit[] = [];
    for (const t of rowTurns(row)) {
      if (opts.role && t.role !== opts.role) continue;
      const at = norm(t.text).indexOf(q);
      if (at < 0) continue;
      const from = Math.max(0, at - around);
      const to = Math.min(t.text.length, at + query.length + around);
      hits.push({
        path: t.path,
        role: t.role,
        snippet: (from > 0 ? '…' : '') + t.text.slice(from, to) + (to < t.text.length ? '…' : ''),
      });
    }
    if (hits.length === 0) continue;
    if (result.total >= offset && result.matches.length < limit) result.matches.push({ index: i, row, hits });
    result.total++;
  }
  return result;
}
