/**
 * LLaMA-Factory's ComputeSimilarity (src/llamafactory/train/sft/metric.py), the metrics of `predict_with_generate`:
 * per row, ROUGE-1/2/L F-scores of the jieba words and BLEU-4 of the characters, each `round(score * 100, 4)`; the
 * set's value is the NumPy mean of the rounded rows.
 */
import { sentenceBleu4 } from './bleu';
import { npMean, pyRound, pySplit } from './python';
import { rougeScores } from './rouge';
import { segment } from './segment';

export type TSimilarity = { 'bleu-4': number; 'rouge-1': number; 'rouge-2': number; 'rouge-l': number };

const KEYS = ['bleu-4', 'rouge-1', 'rouge-2', 'rouge-l'] as const;

/** One prediction against its label, in percent, rounded to 4 decimals as LLaMA-Factory rounds. */
export function scoreSimilarity(predict: string, label: string): TSimilarity {
  const hypothesis = segment(predict).join(' ');
  const reference = segment(label).join(' ');
  // An empty side (nothing but whitespace) scores 0 on every ROUGE; rouge-chinese would raise.
  const empty = pySplit(hypothesis).length === 0 || pySplit(reference).length === 0;
  const rouge = empty ? { 'rouge-1': 0.0, 'rouge-2': 0.0, 'rouge-l': 0.0 } : rougeScores(hypothesis, reference);
  const bleu = sentenceBleu4(Array.from(label), Array.from(predict));
  return {
    'bleu-4': pyRound(bleu * 100, 4),
    'rouge-1': pyRound(rouge['rouge-1'] * 100, 4),
    'rouge-2': pyRound(rouge['rouge-2'] * 100, 4),
    'rouge-l': pyRound(rouge['rouge-l'] * 100, 4),
  };
}

/** The scores of a prediction set: `float(np.mean(...))` of each key over the rows (NaN for no rows, as NumPy). */
export function meanScores(rows: readonly TSimilarity[]): TSimilarity {
  const out = {} as TSimilarity;
  for (const k of KEYS) out[k] = npMean(rows.map((r) => r[k]));
  return out;
}
