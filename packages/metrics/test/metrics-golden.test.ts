/**
 * @crucible/metrics against LLaMA-Factory's own libraries: golden/metrics_golden.json comes from
 * golden/make_metrics_golden.py (jieba 0.42.1, rouge_chinese 1.0.3, nltk 3.10.3, NumPy 2.4.6; how to rerun it is in
 * its header) on the 24 prediction/label pairs of golden/metrics_cases.json (English, Chinese, mixed; empty,
 * whitespace-only and identical cases).
 *
 * Tolerances:
 * - segmentation: the exact word list of Python jieba.cut for every text (the wrapper's outer split makes Extension A
 *   characters come out one by one, as in Python; see src/segment.ts);
 * - ROUGE F-scores (0..1, before rounding): exact, since they are ratios of integer counts and the same three
 *   floating-point operations in the same order;
 * - BLEU-4 (0..1, before rounding): relative 1e-12, because Math.log/Math.exp may differ from the C library's log/exp
 *   by one unit in the last place; every per-row value after round(x * 100, 4) and every mean: exact (a one-ulp
 *   difference could only change the 4th decimal for a score within 1e-12 of a rounding boundary);
 * - round(x, 4) and np.mean on their own: exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { meanScores, scoreSimilarity, segment } from '../src';
import { sentenceBleu4 } from '../src/bleu';
import { npMean, pyRound } from '../src/python';
import { rougeScores } from '../src/rouge';

type TRow = {
  note: string;
  predict: string;
  label: string;
  predict_words: string[];
  label_words: string[];
  raw: Record<'bleu-4' | 'rouge-1' | 'rouge-2' | 'rouge-l', number>;
  scores: Record<'bleu-4' | 'rouge-1' | 'rouge-2' | 'rouge-l', number>;
};
const golden = JSON.parse(readFileSync(join(__dirname, 'golden', 'metrics_golden.json'), 'utf8')) as {
  rows: TRow[];
  mean: Record<string, number>;
  round_check: [number, number][];
  mean_check: { values: number[]; mean: number }[];
};

describe('segment (jieba.cut)', () => {
  it.each(golden.rows.map((r) => [r.note, r] as const))('%s', (_, row) => {
    expect(segment(row.predict)).toEqual(row.predict_words);
    expect(segment(row.label)).toEqual(row.label_words);
  });
});

describe('scoreSimilarity (ComputeSimilarity per row)', () => {
  it.each(golden.rows.map((r) => [r.note, r] as const))('%s', (_, row) => {
    const blank = (w: string[]) => w.join(' ').trim() === '';
    if (!blank(row.predict_words) && !blank(row.label_words)) {
      const rouge = rougeScores(row.predict_words.join(' '), row.label_words.join(' '));
      expect(rouge['rouge-1']).toBe(row.raw['rouge-1']);
      expect(rouge['rouge-2']).toBe(row.raw['rouge-2']);
      expect(rouge['rouge-l']).toBe(row.raw['rouge-l']);
    }
    const bleu = sentenceBleu4(Array.from(row.label), Array.from(row.predict));
    expect(Math.abs(bleu - row.raw['bleu-4'])).toBeLessThanOrEqual(1e-12 * Math.abs(row.raw['bleu-4']));
    expect(scoreSimilarity(row.predict, row.label)).toEqual(row.scores);
  });
});

describe('meanScores (np.mean of the rounded rows)', () => {
  it('equals the reference mean over the fixture', () => {
    const rows = golden.rows.map((r) => scoreSimilarity(r.predict, r.label));
    expect(meanScores(rows)).toEqual(golden.mean);
  });

  it('follows NumPy pairwise summation beyond 128 values', () => {
    let naiveDiffers = 0;
    for (const { values, mean } of golden.mean_check) {
      expect(npMean(values), `${values.length} values`).toBe(mean);
      if (values.reduce((a, b) => a + b, 0) / values.length !== mean) naiveDiffers++;
    }
    // A plain left-to-right sum misses some of these: the test would notice a naive mean.
    expect(naiveDiffers).toBeGreaterThan(0);
  });
});

describe('pyRound (Python round(x, 4))', () => {
  it('rounds exact ties to even and everything else to nearest', () => {
    for (const [x, want] of golden.round_check) expect(pyRound(x, 4), String(x)).toBe(want);
  });
});
