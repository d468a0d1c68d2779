import { csvField } from '@crucible/billing';
import { getPrisma } from '@crucible/db';
import { scoreNames } from '@crucible/jobs';
import { meanScores, type TSimilarity } from '@crucible/metrics';
import { criteriaOf, type TEvaluationRow } from '@crucible/services';

/**
 * An evaluation's results as the console shows them (issue 16): the metric table (each model's mean of each score),
 * the rows with every model's answer side by side, sorted by disagreement, and the CSV/JSONL exports. Computed from
 * the stored answers on each read, so a running evaluation shows what it has so far.
 */

type TOutput = {
  modelIndex: number;
  rowIndex: number;
  text: string;
  finishReason: string | null;
  promptTokens: number;
  completionTokens: number;
  scores: Record<string, number | null>;
  details: Record<string, unknown> | null;
  errorCode: string | null;
  errorMessage: string | null;
};

async function outputsOf(evaluationId: string): Promise<TOutput[]> {
  const rows = await getPrisma().evaluationOutput.findMany({
    where: { evaluationId },
    orderBy: [{ rowIndex: 'asc' }, { modelIndex: 'asc' }],
    select: {
      modelIndex: true,
      rowIndex: true,
      text: true,
      finishReason: true,
      promptTokens: true,
      completionTokens: true,
      scores: true,
      details: true,
      errorCode: true,
      errorMessage: true,
    },
  });
  return rows as TOutput[];
}

const SIMILARITY = ['bleu-4', 'rouge-1', 'rouge-2', 'rouge-l'] as const;

/** The score columns of an evaluation, in the order its criteria were given. */
export function metricNames(ev: TEvaluationRow): string[] {
  return criteriaOf(ev).flatMap(scoreNames);
}

/** Each model's mean of each score (answers with no value for it, such as failed ones, left out) and its counts. */
export async function metricTable(ev: TEvaluationRow) {
  const metrics = metricNames(ev);
  const outputs = await outputsOf(ev.id);
  return ev.models.map((m) => {
    const mine = outputs.filter((o) => o.modelIndex === m.index);
    const means: Record<string, number | null> = {};
    const counts: Record<string, number> = {};
    // BLEU/ROUGE: the set's value as LLaMA-Factory's predict_results.json gives it (NumPy's mean of the rows).
    const similar = mine.filter((o) => SIMILARITY.every((k) => typeof o.scores[k] === 'number'));
    const similarity = similar.length ? meanScores(similar.map((o) => o.scores as TSimilarity)) : null;
    for (const k of metrics) {
      if ((SIMILARITY as readonly string[]).includes(k)) {
        counts[k] = similar.length;
        means[k] = similarity?.[k as keyof TSimilarity] ?? null;
        continue;
      }
      const values = mine.map((o) => o.scores[k]).filter((v): v is number => typeof v === 'number');
      counts[k] = values.length;
      means[k] = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    }
    return {
      index: m.index,
      name: m.name,
      displayName: m.displayName,
      answered: mine.length,
      errors: mine.filter((o) => o.errorCode).length,
      promptTokens: mine.reduce((n, o) => n + o.promptTokens, 0),
      completionTokens: mine.reduce((n, o) => n + o.completionTokens, 0),
      means,
      counts,
    };
  });
}

/** How much the models disagree on a row by `metric`: the spread (max - min) of their scores; 0 under two scores. */
function spreadOf(scores: (number | null | undefined)[]): number {
  const values = scores.filter((v): v is number => typeof v === 'number');
  return values.length < 2 ? 0 : Math.max(...values) - Math.min(...values);
}

/**
 * The rows with each model's answer, paged; `sort: 'disagreement'` puts the rows the models disagree on most by
 * `metric` first (ties by row number). The default metric: the judge's score if there is one, else ROUGE-L, else the
 * first score.
 */
export async function resultRows(
  ev: TEvaluationRow,
  q: { sort: 'index' | 'disagreement'; metric?: string | null; offset: number; limit: number },
) {
  const metrics = metricNames(ev);
  const metric =
    q.metric && metrics.includes(q.metric)
      ? q.metric
      : (['judge', 'rouge-l'].find((m) => metrics.includes(m)) ?? metrics[0] ?? null);
  const [rows, outputs] = await Promise.all([
    getPrisma().evaluationRow.findMany({ where: { evaluationId: ev.id }, orderBy: { index: 'asc' } }),
    outputsOf(ev.id),
  ]);
  const byRow = new Map<number, TOutput[]>();
  for (const o of outputs) byRow.set(o.rowIndex, [...(byRow.get(o.rowIndex) ?? []), o]);
  const all = rows.map((r) => {
    const answers = byRow.get(r.index) ?? [];
    return {
      index: r.index,
      messages: r.messages as { role: string; content: string }[],
      label: r.label,
      spread: metric ? spreadOf(answers.map((a) => a.scores[metric])) : 0,
      outputs: answers,
    };
  });
  if (q.sort === 'disagreement') all.sort((a, b) => b.spread - a.spread || a.index - b.index);
  return { metric, metrics, total: all.length, data: all.slice(q.offset, q.offset + q.limit) };
}

/**
 * The export: CSV with one line per row and model (row, model, prompt, label, answer, finish reason, tokens, every
 * score, the judge's reason, the error), or JSONL with one object per row holding every model's answer and scores.
 */
export async function exportResults(ev: TEvaluationRow, format: 'csv' | 'jsonl'): Promise<string> {
  const { data, metrics } = await resultRows(ev, { sort: 'index', offset: 0, limit: Number.MAX_SAFE_INTEGER });
  const modelName = new Map(ev.models.map((m) => [m.index, m.name]));
  if (format === 'jsonl') {
    return data
      .map((r) =>
        JSON.stringify({
          row: r.index + 1,
          messages: r.messages,
          label: r.label,
          answers: r.outputs.map((o) => ({
            model: modelName.get(o.modelIndex),
            text: o.text,
            finish_reason: o.finishReason,
            prompt_tokens: o.promptTokens,
            completion_tokens: o.completionTokens,
            scores: o.scores,
            details: o.details,
            error: o.errorCode ? { code: o.errorCode, message: o.errorMessage } : null,
          })),
        }),
      )
      .map((line) => `${line}\n`)
      .join('');
  }
  const head = [
    'row',
    'model',
    'prompt',
    'label',
    'answer',
    'finish_reason',
    'prompt_tokens',
    'completion_tokens',
    ...metrics,
    'judge_reason',
    'error',
  ];
  const lines = [head.map(csvField).join(',')];
  for (const r of data) {
    const prompt = r.messages.map((m) => `${m.role}: ${m.content}`).join('\n');
    for (const o of r.outputs) {
      const reason = o.details?.judge_reason;
      lines.push(
        [
          String(r.index + 1),
          modelName.get(o.modelIndex) ?? '',
          prompt,
          r.label,
          o.text,
          o.finishReason,
          String(o.promptTokens),
          String(o.completionTokens),
          ...metrics.map((k) => (typeof o.scores[k] === 'number' ? String(o.scores[k]) : '')),
          typeof reason === 'string' ? reason : '',
          o.errorCode ? `${o.errorCode}: ${o.errorMessage ?? ''}` : '',
        ]
          .map((v) => csvField(v))
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
