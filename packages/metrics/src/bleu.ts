/**
 * nltk 3.x `sentence_bleu([reference], hypothesis, smoothing_function=SmoothingFunction().method3)` with the default
 * weights (0.25 each for 1- to 4-grams), on sequences of tokens (LLaMA-Factory passes the characters of each text).
 * Clipped n-gram precision numerator / max(1, hypothesis n-grams); 0 when no unigram matches (this covers an empty
 * hypothesis or reference); method3 (NIST's geometric smoothing) replaces the k-th zero precision by
 * 1 / (2^k * denominator); brevity penalty exp(1 - r / c) for c <= r; the sum of logs is math.fsum.
 */
import { fsum } from './python';

function ngramCounts(tokens: string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = JSON.stringify(tokens.slice(i, i + n));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The BLEU-4 score in 0..1, unrounded. */
export function sentenceBleu4(reference: string[], hypothesis: string[]): number {
  const numerators: number[] = [];
  const denominators: number[] = [];
  for (let n = 1; n <= 4; n++) {
    const hyp = ngramCounts(hypothesis, n);
    const ref = ngramCounts(reference, n);
    let clipped = 0;
    let total = 0;
    for (const [gram, count] of hyp) {
      clipped += Math.min(count, ref.get(gram) ?? 0);
      total += count;
    }
    numerators.push(clipped);
    denominators.push(Math.max(1, total));
  }
  if (numerators[0] === 0) return 0;
  const c = hypothesis.length;
  const r = reference.length;
  const bp = c > r ? 1 : c === 0 ? 0 : Math.exp(1 - r / c);
  let k = 1;
  const logs = numerators.map((num, i) => {
    const p = num === 0 ? 1 / (2 ** k++ * denominators[i]) : num / denominators[i];
    return 0.25 * Math.log(p);
  });
  return bp * Math.exp(fsum(logs));
}
