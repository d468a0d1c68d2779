import { createHashSet, rowHash } from './hashset';
import { chatml, renderChatML, rowTurns } from './render';
import { canonicalKind, type TCanonicalKind, type TCanonicalRow, type TPreferenceRow } from './types';

// Statistics of a dataset version, computed in one pass over canonical rows. Memory: one number per row per
// measure (for exact percentiles) plus one hash per distinct row.

export type TStatsOptions = {
  /** Token ids of a text (a base model's tokenizer); without it there are no token statistics. */
  tokenize?: (text: string) => ArrayLike<number>;
  /** The text that is tokenised for a row; default renderChatML (Qwen's layout). */
  render?: (row: TCanonicalRow) => string;
  /** Rows with more tokens than this are counted as over the cutoff (LLaMA-Factory's cutoff_len; default 2048). */
  cutoffLen?: number;
  /** Histogram bins (default 20). */
  bins?: number;
  /** A row whose learned text (replies, or the text) has fewer non-space characters than this is near-empty (default 3). */
  nearEmptyChars?: number;
  /** Row indexes listed per finding (duplicates, near-empty, over cutoff); default 100. */
  maxListed?: number;
};

export const STATS_DEFAULTS = Object.freeze({ cutoffLen: 2048, bins: 20, nearEmptyChars: 3, maxListed: 100 });

/** min/max/mean/total and nearest-rank percentiles (p50 = the value at rank ceil(0.5 n)). */
export type TDistribution = { min: number; max: number; mean: number; total: number; p50: number; p95: number };

/** [from, to) except the last bin, which includes `to`. */
export type THistogramBin = { from: number; to: number; count: number };

export type TTokenStats = TDistribution & {
  histogram: THistogramBin[];
  cutoffLen: number;
  overCutoff: number;
  overCutoffRows: number[];
};

export type TDatasetStats = {
  rows: number;
  kinds: Record<TCanonicalKind, number>;
  /** Messages per row (text rows count 1; preference rows count the prompt and the preferred reply). */
  turns: TDistribution;
  /** Characters of all turn texts per row. */
  characters: TDistribution;
  tokens: TTokenStats | null;
  /** Rows identical to an earlier row (the first occurrence is not counted). */
  duplicates: { count: number; rows: number[] };
  nearEmpty: { count: number; rows: number[] };
  /** KTO rows (chat rows with a boolean `label`): desirable (true) and undesirable (false) ones. */
  labels?: { desirable: number; undesirable: number };
  /**
   * Preference rows: tokens of the prompt (ChatML of input.messages) and of each answer (ChatML of preferred_output
   * / non_preferred_output), per row; null without a tokenizer or without preference rows.
   */
  pairTokens?: { prompt: TDistribution; chosen: TDistribution; rejected: TDistribution } | null;
};

/** A growable number list (typed arrays: a million rows cost 8 MB, not the 30+ MB of a JS array of boxed numbers). */
function numbers() {
  let a = new Float64Array(1024);
  let n = 0;
  return {
    push(v: number) {
      if (n === a.length) {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        a = b;
      }
      a[n++] = v;
    },
    values: () => a.subarray(0, n),
  };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function distribution(values: Float64Array): TDistribution {
  if (values.length === 0) return { min: 0, max: 0, mean: 0, total: 0, p50: 0, p95: 0 };
  const s = Float64Array.from(values).sort();
  let total = 0;
  for (const v of s) total += v;
  return {
    min: s[0],
    max: s[s.length - 1],
    mean: total / s.length,
    total,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
  };
}

/** `bins` equal integer-width bins from 0 covering the max. */
export function histogram(values: ArrayLike<number>, bins: number): THistogramBin[] {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const width = Math.max(1, Math.ceil((max + 1) / bins));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.min(bins - 1, Math.floor(values[i] / width))]++;
  return counts.map((count, i) => ({
    from: i * width,
    to: i === bins - 1 ? Math.max(max, i * width) : (i + 1) * width,
    count,
  }));
}

/** The text a model learns from in a row: the assistant replies (preferred for DPO), or the text. */
function learnedText(row: TCanonicalRow): string {
  const kind = canonicalKind(row);
  if (kind === 'text') return (row as { text: string }).text;
  return rowTurns(row)
    .filter((t) => t.role === 'assistant' && !t.path.startsWith('non_preferred'))
    .map((t) => t.text)
    .join('');
}

export function createStatsCollector(opts: TStatsOptions = {}) {
  const o = { ...STATS_DEFAULTS, ...opts };
  const render = opts.render ?? renderChatML;
  const turns = numbers();
  const chars = numbers();
  const tokens = numbers();
  const kinds: Record<TCanonicalKind, number> = { chat: 0, preference: 0, text: 0 };
  const seen = createHashSet();
  const duplicates = { count: 0, rows: [] as number[] };
  const nearEmpty = { count: 0, rows: [] as number[] };
  const overCutoffRows: number[] = [];
  const labels = { desirable: 0, undesirable: 0 };
  const pair = { prompt: numbers(), chosen: numbers(), rejected: numbers() };
  let overCutoff = 0;
  let rows = 0;
  return {
    add(row: TCanonicalRow) {
      const index = rows++;
      const kind = canonicalKind(row);
      kinds[kind]++;
      const label = (row as { label?: unknown }).label;
      if (label === true) labels.desirable++;
      else if (label === false) labels.undesirable++;
      if (kind === 'preference' && opts.tokenize) {
        const p = row as TPreferenceRow;
        pair.prompt.push(opts.tokenize(chatml(p.input.messages)).length);
        pair.chosen.push(opts.tokenize(chatml(p.preferred_output)).length);
        pair.rejected.push(opts.tokenize(chatml(p.non_preferred_output)).length);
      }
      const t = rowTurns(row);
      turns.push(kind === 'preference' ? t.filter((x) => !x.path.startsWith('non_preferred')).length : t.length);
      let c = 0;
      for (const x of t) c += x.text.length;
      chars.push(c);
      if (opts.tokenize) {
        const n = opts.tokenize(render(row)).length;
        tokens.push(n);
        if (n > o.cutoffLen) {
          overCutoff++;
          if (overCutoffRows.length < o.maxListed) overCutoffRows.push(index);
        }
      }
      if (!seen.add(rowHash(JSON.stringify(row)))) {
        duplicates.count++;
        if (duplicates.rows.length < o.maxListed) duplicates.rows.push(index);
      }
      if (learnedText(row).replace(/\s+/g, '').length < o.nearEmptyChars) {
        nearEmpty.count++;
        if (nearEmpty.rows.length < o.maxListed) nearEmpty.rows.push(index);
      }
    },
    result(): TDatasetStats {
      const tv = tokens.values();
      return {
        rows,
        kinds,
        turns: distribution(turns.values()),
        characters: distribution(chars.values()),
        tokens: opts.tokenize
          ? {
              ...distribution(tv),
              histogram: histogram(tv, o.bins),
              cutoffLen: o.cutoffLen,
              overCutoff,
              overCutoffRows,
            }
          : null,
        duplicates,
        nearEmpty,
        labels,
        pairTokens:
          kinds.preference > 0 && opts.tokenize
            ? {
                prompt: distribution(pair.prompt.values()),
                chosen: distribution(pair.chosen.values()),
                rejected: distribution(pair.rejected.values()),
              }
            : null,
      };
    },
  };
}

/** Statistics over canonical rows (an array, or a stream of them, e.g. readCanonicalJsonl). */
export async function computeStats(
  rows: Iterable<TCanonicalRow> | AsyncIterable<TCanonicalRow>,
  opts: TStatsOptions = {},
): Promise<TDatasetStats> {
  const c = createStatsCollector(opts);
  for await (const r of rows) c.add(r);
  return c.result();
}
