/**
 * ROUGE-1, ROUGE-2 and ROUGE-L F-scores as the rouge-chinese package (1.0.3) computes them for
 * `Rouge().get_scores(hyp, ref)` on two space-joined word lists: each text is cut into sentences at Chinese and
 * Latin sentence ends (its cut_sent), each sentence's whitespace runs become one space, and the words of all
 * sentences are flattened. ROUGE-N counts DISTINCT n-grams (exclusive=True, sets); ROUGE-L is the longest common
 * subsequence of the two flattened word lists ("summary level" there, but without the union LCS). F = 2PR / (P + R
 * + 1e-8), with P or R 0 when a side has no n-gram.
 */
import { pyRstrip, pySplit } from './python';

/** rouge-chinese's Rouge.cut_sent: a newline after sentence ends (not before a closing quote), then split. */
function cutSentences(para: string): string[] {
  let s = para.replace(/([。！？?])([^”’])/gu, '$1\n$2');
  s = s.replace(/(\.{6})([^”’])/gu, '$1\n$2');
  s = s.replace(/(…{2})([^”’])/gu, '$1\n$2');
  s = s.replace(/([。！？?][”’])([^，。！？?])/gu, '$1\n$2');
  return pyRstrip(s).split('\n');
}

/**
 * The words rouge-chinese scores: non-empty sentences (tested before whitespace is squeezed, so a sentence of only
 * spaces survives as ""), each split on single spaces. A "" word counts like any other, as in Python.
 */
function rougeWords(text: string): string[] {
  return cutSentences(text)
    .filter((sent) => sent.length > 0)
    .flatMap((sent) => pySplit(sent).join(' ').split(' '));
}

function ngramSet(words: number[], n: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i + n <= words.length; i++) set.add(words.slice(i, i + n).join(','));
  return set;
}

const fScore = (p: number, r: number): number => 2.0 * ((p * r) / (p + r + 1e-8));

function rougeN(hyp: number[], ref: number[], n: number): number {
  const h = ngramSet(hyp, n);
  const r = ngramSet(ref, n);
  let overlap = 0;
  for (const g of h) if (r.has(g)) overlap++;
  const precision = h.size === 0 ? 0.0 : overlap / h.size;
  const recall = r.size === 0 ? 0.0 : overlap / r.size;
  return fScore(precision, recall);
}

function lcsLength(x: number[], y: number[]): number {
  let prev = new Int32Array(y.length + 1);
  let cur = new Int32Array(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      cur[j] = x[i - 1] === y[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length];
}

export type TRougeF = { 'rouge-1': number; 'rouge-2': number; 'rouge-l': number };

/**
 * F-scores (0..1, unrounded) of a hypothesis against a reference, both given as text whose words are separated by
 * spaces (LLaMA-Factory passes `" ".join(jieba.cut(text))`). Both must hold a non-space character: rouge-chinese
 * raises on an empty side and LLaMA-Factory scores that case 0 before calling it.
 */
export function rougeScores(hypothesis: string, reference: string): TRougeF {
  const ids = new Map<string, number>();
  const idOf = (w: string): number => {
    let id = ids.get(w);
    if (id === undefined) {
      id = ids.size;
      ids.set(w, id);
    }
    return id;
  };
  const hyp = rougeWords(hypothesis).map(idOf);
  const ref = rougeWords(reference).map(idOf);
  if (hyp.length === 0 || ref.length === 0) throw new Error('rougeScores: hypothesis and reference must be non-empty.');
  const lcs = lcsLength(ref, hyp);
  const r = lcs / ref.length;
  const p = lcs / hyp.length;
  return { 'rouge-1': rougeN(hyp, ref, 1), 'rouge-2': rougeN(hyp, ref, 2), 'rouge-l': fScore(p, r) };
}
