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
export type TRowChange = { key: string; indexA: number; indexB: number; before: TCanonicalRow; after: TCanonicalRow };
export type TVersionDiff = {
  added: TRowRef[];
  removed: TRowRef[];
  changed: TRowChange[];
  unchanged: number;
  /** Totals (the lists stop at maxListed). */
  counts: { added: number; removed: number; changed: number };
};

/**
 * Rows added, removed and changed from version `a` to `b`, matched by a stable key (default defaultRowKey). Rows
 * with equal keys are matched in order (the 2nd occurrence in a with the 2nd in b). Holds `a` in memory.
 */
export async function diffVersions(
  a: Iterable<TCanonicalRow> | AsyncIterable<TCanonicalRow>,
  b: Iterable<TCanonicalRow> | AsyncIterable<TCanonicalRow>,
  opts: { key?: (row: TCanonicalRow) => string; maxListed?: number } = {},
): Promise<TVersionDiff> {
  const keyOf = opts.key ?? defaultRowKey;
  const max = opts.maxListed ?? 1000;
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
      if (diff.added.length < max) diff.added.push({ index, key: shown(key), row });
      continue;
    }
    inA.delete(key);
    if (old.json === JSON.stringify(row)) diff.unchanged++;
    else {
      diff.counts.changed++;
      if (diff.changed.length < max)
        diff.changed.push({ key: shown(key), indexA: old.index, indexB: index, before: old.row, after: row });
    }
  }
  for (const [key, old] of inA) {
    diff.counts.removed++;
    if (diff.removed.length < max) diff.removed.push({ index: old.index, key: shown(key), row: old.row });
  }
  diff.removed.sort((x, y) => x.index - y.index);
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
