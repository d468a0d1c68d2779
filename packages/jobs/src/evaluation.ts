import Ajv, { type ValidateFunction } from 'ajv';
import { z } from 'zod';

/**
 * What an evaluation is, as the console (and OpenAI's Evals API) write it and the serving worker runs it (issue 16):
 * the generation settings, the criteria every answer is scored by, the names of the scores they produce, and the
 * `{{item.x}}` / `{{sample.output_text}}` templates of the Evals API.
 */

/**
 * Generation settings. Greedy by default (temperature 0), so an evaluation of the same models on the same rows gives
 * the same answers; `seed` makes a sampled one repeatable too (each row uses seed + its index).
 */
export const ZEvaluationSettings = z.strictObject({
  maxNewTokens: z.number().int().min(1).max(4096).default(256),
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).default(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
});
export type TEvaluationSettings = z.output<typeof ZEvaluationSettings>;

const ZName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w .:-]+$/, 'letters, digits, spaces and . _ : -');
const ZTemplate = z.string().max(8000);
const ZTemplateMessage = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: ZTemplate,
});

/**
 * One criterion. The console's metrics: `similarity` (BLEU-4 and ROUGE-1/2/L as LLaMA-Factory's predict computes
 * them, on its percentage scale), `exact_match` (the answer equals the label, both trimmed), `json_schema` (the
 * answer is JSON valid against the schema), `judge` (a deployed model scores the answer 1-10 against a rubric, with
 * its reason). The OpenAI Evals graders: `string_check`, `text_similarity` (bleu, rouge_1/2/l, 0-1), `score_model`
 * (a deployed model scores within `range`).
 */
export const ZEvaluationCriterion = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('similarity') }),
  z.strictObject({ type: z.literal('exact_match') }),
  z.strictObject({
    type: z.literal('json_schema'),
    schema: z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
      try {
        compileJsonSchema(schema);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not a usable JSON schema: ${(error as Error).message}` });
      }
    }),
  }),
  z.strictObject({
    type: z.literal('judge'),
    deploymentId: z.string().min(1, 'choose the deployment that judges'),
    rubric: z.string().trim().min(1, 'write the rubric the judge scores by').max(8000),
  }),
  z.strictObject({
    type: z.literal('string_check'),
    name: ZName,
    input: ZTemplate,
    reference: ZTemplate,
    operation: z.enum(['eq', 'ne', 'like', 'ilike']),
  }),
  z.strictObject({
    type: z.literal('text_similarity'),
    name: ZName,
    input: ZTemplate,
    reference: ZTemplate,
    metric: z.enum(['bleu', 'rouge_1', 'rouge_2', 'rouge_l']),
    passThreshold: z.number().min(0).max(1),
  }),
  z.strictObject({
    type: z.literal('score_model'),
    name: ZName,
    deploymentId: z.string().min(1),
    input: z.array(ZTemplateMessage).min(1).max(16),
    range: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'range: the first number must be lower'),
    passThreshold: z.number().nullable(),
  }),
]);
export type TEvaluationCriterion = z.output<typeof ZEvaluationCriterion>;

export const ZEvaluationCriteria = z
  .array(ZEvaluationCriterion)
  .min(1, 'choose at least one metric')
  .max(16)
  .refine((list) => new Set(list.map(criterionKey)).size === list.length, 'each metric or grader name only once');

/** What makes two criteria the same (a grader by its name, a console metric by its type). */
function criterionKey(c: TEvaluationCriterion): string {
  return 'name' in c ? `grader:${c.name}` : c.type;
}

/** The score names a criterion writes on each answer (the columns of the results table). */
export function scoreNames(c: TEvaluationCriterion): string[] {
  switch (c.type) {
    case 'similarity':
      return ['bleu-4', 'rouge-1', 'rouge-2', 'rouge-l'];
    case 'exact_match':
      return ['exact_match'];
    case 'json_schema':
      return ['json_valid'];
    case 'judge':
      return ['judge'];
    default:
      return [c.name];
  }
}

/**
 * A validator of answers against a JSON schema (ajv: draft-07 and the keywords it knows; unknown keywords are
 * ignored rather than refused, as most validators do). A fresh instance each time: ajv refuses a second schema with
 * the same `$id` in one instance. Throws with ajv's sentence when the schema itself is not valid.
 */
export function compileJsonSchema(schema: Record<string, unknown>): ValidateFunction {
  return new Ajv({ strict: false, allErrors: false }).compile(schema);
}

/** The value at a dotted path (`item.answer.text`), or undefined. */
function lookup(scope: Record<string, unknown>, path: string): unknown {
  let v: unknown = scope;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * Fills `{{ item.x }}` and `{{ sample.output_text }}` as OpenAI's graders and templates do: a string as it is,
 * anything else as JSON; a path that names nothing becomes the empty string.
 */
export function renderTemplate(template: string, scope: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, path: string) => {
    const v = lookup(scope, path);
    if (v === undefined || v === null) return '';
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}
