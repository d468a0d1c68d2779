import { compileJsonSchema, renderTemplate, type TEvaluationCriterion } from '@crucible/jobs';
import { scoreSimilarity } from '@crucible/metrics';

/**
 * Scores of one answer (issue 16). Rule metrics are computed here; a judge (`judge`, `score_model`) asks a deployed
 * model through `ask`, which the caller runs on the serving path and charges. Every score is a number; what explains
 * it (a judge's reason, the JSON-schema error, a grader's pass/fail) goes in `details`.
 */

export type TChatMessage = { role: string; content: string };

/**
 * A judge's question: messages and the JSON schema its answer is held to (a llama.cpp grammar). Answers the reply, or
 * why this one question could not be asked (a prompt over the judge's context): that answer gets no score, the rest
 * of the evaluation goes on.
 */
export type TAsk = (
  judge: { deploymentId: string; key: string },
  messages: TChatMessage[],
  jsonSchema: Record<string, unknown>,
) => Promise<{ text: string } | { error: string }>;

export type TScored = { scores: Record<string, number | null>; details: Record<string, unknown> };

/** LLaMA-Factory's scale for rule metrics: percentages. Exact match and JSON validity are 100 or 0 per answer. */
const HIT = 100;

export function exactMatch(answer: string, label: string): number {
  return answer.trim() === label.trim() ? HIT : 0;
}

/** One ```json fenced block is taken for its content; anything else must be the JSON text itself. */
function jsonText(answer: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(answer);
  return (fenced ? fenced[1] : answer).trim();
}

export function jsonValidity(
  validate: ReturnType<typeof compileJsonSchema>,
  answer: string,
): { score: number; error: string | null } {
  let value: unknown;
  try {
    value = JSON.parse(jsonText(answer));
  } catch (error) {
    return { score: 0, error: `not JSON: ${(error as Error).message}` };
  }
  if (validate(value)) return { score: HIT, error: null };
  const first = validate.errors?.[0];
  return { score: 0, error: first ? `${first.instancePath || '/'} ${first.message ?? 'is not valid'}` : 'not valid' };
}

/** OpenAI's string_check: eq / ne exact, like contains (case-sensitive), ilike contains ignoring case. 1 or 0. */
export function stringCheck(operation: 'eq' | 'ne' | 'like' | 'ilike', input: string, reference: string): number {
  switch (operation) {
    case 'eq':
      return input === reference ? 1 : 0;
    case 'ne':
      return input !== reference ? 1 : 0;
    case 'like':
      return input.includes(reference) ? 1 : 0;
    case 'ilike':
      return input.toLowerCase().includes(reference.toLowerCase()) ? 1 : 0;
  }
}

/** The judge's instructions: the rubric, the conversation, the reference answer, the answer to score. */
export function judgeMessages(rubric: string, prompt: TChatMessage[], label: string, answer: string): TChatMessage[] {
  const conversation = prompt.map((m) => `${m.role}: ${m.content}`).join('\n');
  return [
    {
      role: 'system',
      content:
        'You are an impartial judge. Score the answer from 1 (worst) to 10 (best) by this rubric:\n' +
        `${rubric}\n` +
        'Reply with JSON only: {"score": <integer 1-10>, "reason": "<one or two sentences>"}.',
    },
    {
      role: 'user',
      content: `Conversation:\n${conversation}\n\nReference answer:\n${label}\n\nAnswer to score:\n${answer}`,
    },
  ];
}

/** The judge's reply is held to this (score first, so a reply cut by max tokens still carries it). */
export function judgeSchema(range: readonly [number, number]): Record<string, unknown> {
  const [lo, hi] = range;
  const integers = Number.isInteger(lo) && Number.isInteger(hi) && hi - lo <= 20;
  return {
    type: 'object',
    properties: {
      score: integers ? { enum: Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) } : { type: 'number' },
      reason: { type: 'string', maxLength: 160 },
    },
    required: ['score', 'reason'],
  };
}

/**
 * The score and reason in a judge's reply, however it came: JSON ({"score": 7, "reason": "..."}, possibly cut short or
 * wrapped in prose or a code fence), `score: 7`, `7/10`, or a lone number. A score outside `range` is no score.
 */
export function parseJudgeReply(
  text: string,
  range: readonly [number, number] = [1, 10],
): { score: number | null; reason: string } {
  const [lo, hi] = range;
  let score: number | null = null;
  let reason: string | null = null;
  const object = /\{[\s\S]*\}/.exec(text);
  if (object) {
    try {
      const parsed = JSON.parse(object[0]) as { score?: unknown; reason?: unknown };
      if (typeof parsed.score === 'number') score = parsed.score;
      else if (typeof parsed.score === 'string' && Number.isFinite(Number(parsed.score))) score = Number(parsed.score);
      if (typeof parsed.reason === 'string') reason = parsed.reason;
    } catch {
      // not whole JSON: the patterns below
    }
  }
  const num = '(-?\\d+(?:\\.\\d+)?)';
  score ??=
    [new RegExp(`"?score"?\\s*[:=]\\s*"?${num}`, 'i'), new RegExp(`${num}\\s*/\\s*${hi}\\b`), new RegExp(num)]
      .map((re) => re.exec(text))
      .find((m) => m)
      ?.slice(1, 2)
      .map(Number)[0] ?? null;
  reason ??= /"reason"\s*:\s*"((?:[^"\\]|\\.)*)/i.exec(text)?.[1]?.replace(/\\(.)/g, '$1') ?? text.trim();
  if (score !== null && (!Number.isFinite(score) || score < lo || score > hi)) {
    return { score: null, reason: `score ${score} is outside ${lo}-${hi}: ${reason}`.slice(0, 1000) };
  }
  return { score, reason: reason.slice(0, 1000) };
}

const SIMILARITY_OF = { bleu: 'bleu-4', rouge_1: 'rouge-1', rouge_2: 'rouge-2', rouge_l: 'rouge-l' } as const;

/**
 * Scores one answer by every criterion. Validators are compiled once per evaluation (`prepare`), then `score` runs
 * per answer.
 */
export function createScorer(criteria: TEvaluationCriterion[], ask: TAsk) {
  const validators = new Map<TEvaluationCriterion, ReturnType<typeof compileJsonSchema>>();
  for (const c of criteria) if (c.type === 'json_schema') validators.set(c, compileJsonSchema(c.schema));

  return async function score(row: {
    messages: TChatMessage[];
    label: string;
    item: Record<string, unknown>;
    answer: string;
  }): Promise<TScored> {
    const scores: TScored['scores'] = {};
    const details: TScored['details'] = {};
    const graders: Record<string, { passed: boolean }> = {};
    const scope = { item: row.item, sample: { output_text: row.answer } };
    for (const c of criteria) {
      switch (c.type) {
        case 'similarity':
          // LLaMA-Factory's predict metrics of this answer, in percent (@crucible/metrics, checked against it).
          Object.assign(scores, scoreSimilarity(row.answer, row.label));
          break;
        case 'exact_match':
          scores.exact_match = exactMatch(row.answer, row.label);
          break;
        case 'json_schema': {
          const v = jsonValidity(validators.get(c)!, row.answer);
          scores.json_valid = v.score;
          if (v.error) details.json_error = v.error;
          break;
        }
        case 'judge': {
          const reply = await ask(
            { deploymentId: c.deploymentId, key: 'judge' },
            judgeMessages(c.rubric, row.messages, row.label, row.answer),
            judgeSchema([1, 10]),
          );
          if ('error' in reply) {
            scores.judge = null;
            details.judge_error = reply.error;
            break;
          }
          const j = parseJudgeReply(reply.text, [1, 10]);
          scores.judge = j.score;
          details.judge_reason = j.reason;
          break;
        }
        case 'string_check': {
          const s = stringCheck(c.operation, renderTemplate(c.input, scope), renderTemplate(c.reference, scope));
          scores[c.name] = s;
          graders[c.name] = { passed: s === 1 };
          break;
        }
        case 'text_similarity': {
          // OpenAI's text_similarity scores 0-1: LLaMA-Factory's percentage / 100.
          const v =
            scoreSimilarity(renderTemplate(c.input, scope), renderTemplate(c.reference, scope))[
              SIMILARITY_OF[c.metric]
            ] / 100;
          scores[c.name] = v;
          graders[c.name] = { passed: v >= c.passThreshold };
          break;
        }
        case 'score_model': {
          const messages = c.input.map((m) => ({ role: m.role, content: renderTemplate(m.content, scope) }));
          const reply = await ask(
            { deploymentId: c.deploymentId, key: `grader-${c.name}` },
            messages,
            judgeSchema(c.range),
          );
          const j = 'error' in reply ? { score: null, reason: reply.error } : parseJudgeReply(reply.text, c.range);
          scores[c.name] = j.score;
          // OpenAI's score_model passes at or above pass_threshold; without one, at or above the range's middle.
          const threshold = c.passThreshold ?? (c.range[0] + c.range[1]) / 2;
          graders[c.name] = { passed: j.score !== null && j.score >= threshold };
          details[`${c.name}_reason`] = j.reason;
          break;
        }
      }
    }
    if (Object.keys(graders).length) details.graders = graders;
    return { scores, details };
  };
}
