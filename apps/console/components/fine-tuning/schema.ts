import {
  FINE_TUNING_METHODS,
  isLoraMethod,
  PREF_LOSSES,
  STAGE_KEYS,
  stageOf,
  type TFineTuningMethod,
  ZHyperparameters,
} from '@crucible/jobs/fine-tuning';
import { z } from 'zod';
import { issueMessage } from '@/lib/api-client';
import type { TJob } from './types';

// The create-job body (POST /fine-tuning/jobs and /fine-tuning/estimate). The form keeps every input as the string
// the user typed; `toBody` turns the filled ones into numbers and leaves the rest out, so the API applies its own
// defaults (LLaMA-Factory's) instead of a second copy of them living in the browser. zod's messages follow the UI
// language (lib/i18n/client.tsx loads zod's locale).

// The hyper-parameter contract is shared with the API and the trainer worker (browser-safe: zod only).
export { defaultHyperparameters } from '@crucible/jobs/fine-tuning';

const ZCreateJobBody = z.object({
  baseModelId: z.string().min(1),
  fromModelId: z.string().min(1).optional(),
  trainingVersionId: z.string().min(1),
  validationVersionId: z.string().min(1).optional(),
  valSplit: z.number().gt(0).max(0.5).optional(),
  method: z.enum(FINE_TUNING_METHODS),
  suffix: z
    .string()
    .regex(/^[a-zA-Z0-9-_]{1,40}$/)
    .optional(),
  hyperparameters: ZHyperparameters.omit({ valSplit: true }),
});
export type TCreateJobBody = z.infer<typeof ZCreateJobBody>;

const NUMERIC_FIELDS = [
  'learningRate',
  'batchSize',
  'gradientAccumulationSteps',
  'loraRank',
  'loraAlpha',
  'loraDropout',
  'cutoffLen',
  'warmupRatio',
  'seed',
  'saveSteps',
  'evalSteps',
  'loggingSteps',
  // preference training; each only for the stages that take it (STAGE_KEYS)
  'prefBeta',
  'prefFtx',
  'simpoGamma',
  'dpoLabelSmoothing',
  'ktoChosenWeight',
  'ktoRejectedWeight',
] as const;
type TNumericField = (typeof NUMERIC_FIELDS)[number];
const LORA_FIELDS: readonly string[] = ['loraRank', 'loraAlpha', 'loraDropout', 'loraTargets'];
const PREF_FIELDS: readonly string[] = [...STAGE_KEYS.dpo, ...STAGE_KEYS.kto];
/** Whether a field is sent for this method: LoRA fields on LoRA methods, preference fields on their stages. */
export function fieldApplies(field: string, method: TFineTuningMethod): boolean {
  if (LORA_FIELDS.includes(field)) return isLoraMethod(method);
  if (PREF_FIELDS.includes(field)) return (STAGE_KEYS[stageOf(method)] as readonly string[]).includes(field);
  return true;
}

export type TFormValues = {
  baseModelId: string;
  trainingVersionId: string;
  validation: 'none' | 'version' | 'split';
  validationVersionId: string;
  valSplit: string;
  method: TFineTuningMethod;
  /** A fine-tuned model to continue ('' = train the base model). */
  fromModelId: string;
  suffix: string;
  epochs: string;
  loraTargets: string;
  lrScheduler: '' | 'cosine' | 'linear' | 'constant';
  prefLoss: '' | (typeof PREF_LOSSES)[number];
} & Record<TNumericField, string>;

export const EMPTY_FORM: TFormValues = {
  baseModelId: '',
  trainingVersionId: '',
  validation: 'none',
  validationVersionId: '',
  valSplit: '0.1',
  method: 'sft_lora',
  fromModelId: '',
  suffix: '',
  epochs: 'auto',
  loraTargets: '',
  lrScheduler: '',
  prefLoss: '',
  ...(Object.fromEntries(NUMERIC_FIELDS.map((f) => [f, ''])) as Record<TNumericField, string>),
};

/** "" → left out; anything else → a number (NaN when it is not one, which the schema then rejects). */
function num(text: string): number | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : Number(trimmed);
}

/** The request body for the current form values, before validation. */
function toBody(values: TFormValues): unknown {
  const hyperparameters: Record<string, unknown> = {};
  const loss = values.prefLoss || 'sigmoid';
  for (const field of NUMERIC_FIELDS) {
    if (!fieldApplies(field, values.method)) continue;
    // The form shows simpoGamma for the simpo loss and label smoothing for sigmoid only.
    if ((field === 'simpoGamma' && loss !== 'simpo') || (field === 'dpoLabelSmoothing' && loss !== 'sigmoid')) continue;
    const n = num(values[field]);
    if (n !== undefined) hyperparameters[field] = n;
  }
  const epochs = values.epochs.trim().toLowerCase();
  if (epochs !== '') hyperparameters.epochs = epochs === 'auto' ? 'auto' : Number(epochs);
  const targets = values.loraTargets.trim();
  if (targets !== '' && isLoraMethod(values.method) && !values.fromModelId) {
    hyperparameters.loraTargets =
      targets.toLowerCase() === 'all'
        ? 'all'
        : targets
            .split(/[\s,]+/)
            .map((s) => s.trim())
            .filter(Boolean);
  }
  if (values.lrScheduler) hyperparameters.lrScheduler = values.lrScheduler;
  if (values.prefLoss && fieldApplies('prefLoss', values.method)) hyperparameters.prefLoss = values.prefLoss;
  return {
    baseModelId: values.baseModelId,
    ...(values.fromModelId ? { fromModelId: values.fromModelId } : {}),
    trainingVersionId: values.trainingVersionId,
    ...(values.validation === 'version' ? { validationVersionId: values.validationVersionId } : {}),
    ...(values.validation === 'split' ? { valSplit: num(values.valSplit) ?? Number.NaN } : {}),
    method: values.method,
    ...(values.suffix.trim() ? { suffix: values.suffix.trim() } : {}),
    hyperparameters,
  };
}

/** Maps a zod issue path or an API error `param` ("hyperparameters.loraRank") to the form field it belongs to. */
export function fieldOf(path: ReadonlyArray<PropertyKey> | string): string {
  const parts = typeof path === 'string' ? path.split('.') : path.map(String);
  const last = parts.filter((p) => !/^\d+$/.test(p)).at(-1) ?? '_form';
  if (last === 'hyperparameters') return '_form';
  return last;
}

export function validateBody(
  values: TFormValues,
): { ok: true; body: TCreateJobBody } | { ok: false; errors: Record<string, string> } {
  const parsed = ZCreateJobBody.safeParse(toBody(values));
  if (parsed.success) return { ok: true, body: parsed.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) errors[fieldOf(issue.path)] ??= issueMessage(issue);
  return { ok: false, errors };
}

/** Form values for "clone and edit": the source job's settings as the API reports them. */
export function fromJob(job: TJob): TFormValues {
  const hp = (job.hyperparameters ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const valSplit = (job as { valSplit?: number | null }).valSplit ?? (hp.valSplit as number | undefined) ?? 0;
  const validationId =
    job.validationVersion?.id ?? (job as { validationVersionId?: string | null }).validationVersionId;
  const scheduler = text(hp.lrScheduler);
  return {
    ...EMPTY_FORM,
    baseModelId: job.baseModel?.id ?? '',
    trainingVersionId: job.datasetVersion?.id ?? '',
    validation: validationId ? 'version' : valSplit ? 'split' : 'none',
    validationVersionId: validationId ?? '',
    valSplit: valSplit ? String(valSplit) : EMPTY_FORM.valSplit,
    method: (FINE_TUNING_METHODS as readonly string[]).includes(job.method ?? '')
      ? (job.method as TFineTuningMethod)
      : 'sft_lora',
    fromModelId: job.fromModel?.id ?? '',
    prefLoss: (PREF_LOSSES as readonly string[]).includes(text(hp.prefLoss))
      ? (text(hp.prefLoss) as TFormValues['prefLoss'])
      : '',
    suffix: job.suffix ?? '',
    epochs: hp.epochs === undefined ? 'auto' : text(hp.epochs),
    loraTargets: Array.isArray(hp.loraTargets) ? hp.loraTargets.join(', ') : text(hp.loraTargets),
    lrScheduler: scheduler === 'cosine' || scheduler === 'linear' || scheduler === 'constant' ? scheduler : '',
    ...(Object.fromEntries(NUMERIC_FIELDS.map((f) => [f, text(hp[f])])) as Record<TNumericField, string>),
  };
}
