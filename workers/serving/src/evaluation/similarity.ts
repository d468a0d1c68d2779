/**
 * BLEU-4 and ROUGE-1/2/L of one answer against its label, on LLaMA-Factory's percentage scale. The one place the
 * evaluation worker asks for them: @crucible/metrics (issue 16's `do_predict` work) computes them as LLaMA-Factory
 * does; this module is wired to its `scoreSimilarity` once that package is on main. Until then it answers null and
 * the answers carry no BLEU/ROUGE (the results say so), rather than a second implementation of the metric.
 */
export type TSimilarity = { 'bleu-4': number; 'rouge-1': number; 'rouge-2': number; 'rouge-l': number };

export function similarity(_predict: string, _label: string): TSimilarity | null {
  return null;
}
