import { JOB_ERROR_CODES, JOB_EVENTS, type TJobEventCode } from '@crucible/jobs/events';
import type { TMessageKey, TTranslate } from './translate';

/**
 * Text that comes from the server as codes (issue 13, item 11) turned into the reader's language: job events, job
 * errors, API errors and their validation reasons, dataset problems, hyper-parameter names, billing units. Each
 * falls back to the server's English text only where no code is known (old events, an unknown code), so a code
 * added on the server without messages shows up in English rather than as a key — and the catalogue test
 * (test/i18n-codes.test.ts) fails first.
 */

/** `t(key)` when the catalogue has the key, else undefined (the translator returns the key itself when missing). */
function maybe(t: TTranslate, key: string, vars?: Record<string, string | number>): string | undefined {
  const text = t(key as TMessageKey, vars);
  return text === key ? undefined : text;
}

export type TEventLike = {
  message: string;
  code?: string | null;
  params?: Record<string, unknown> | null;
};

const isEventCode = (code: string): code is TJobEventCode => Object.hasOwn(JOB_EVENTS, code);

function vars(params: Record<string, unknown> | null | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params ?? {})) out[k] = typeof v === 'number' ? v : String(v);
  return out;
}

/** One job event in the reader's language; events written before codes existed show their stored text. */
export function jobEventText(t: TTranslate, e: TEventLike): string {
  if (!e.code || !isEventCode(e.code)) return e.message;
  const p = vars(e.params);
  switch (e.code) {
    case 'training_progress': {
      const parts = [t('jobEvents.training_progress', p)];
      if (p.loss !== undefined) parts.push(t('jobEvents.progressLoss', { value: p.loss }));
      if (p.evalLoss !== undefined) parts.push(t('jobEvents.progressEvalLoss', { value: p.evalLoss }));
      if (p.lr !== undefined) parts.push(t('jobEvents.progressLr', { value: p.lr }));
      return parts.join(t('jobEvents.progressSeparator'));
    }
    case 'trainer_backend':
      return t('jobEvents.trainer_backend', {
        ...p,
        // "cpu: 2 threads, sgemm avx2, bf16 widened": the kernel names are identifiers, the thread count is words
        summary: String(p.summary ?? '').replace(/^cpu: (\d+) threads/, (_, n: string) =>
          t('jobEvents.cpuThreads', { threads: Number(n) }),
        ),
        gc: p.gc === 'on' ? t('jobEvents.gcOn') : t('jobEvents.gcOff'),
      });
    case 'job_failed':
      return t('jobEvents.job_failed', { reason: jobErrorText(t, String(p.errorCode ?? ''), String(p.message ?? '')) });
    default:
      return t(`jobEvents.${e.code}` as TMessageKey, p);
  }
}

/** The event's level as a word ("warn" → 警告). */
export const eventLevelText = (t: TTranslate, level: string) => maybe(t, `eventLevels.${level}`) ?? level;

/** A failed job's error code as a sentence; unknown codes keep the worker's own (English) message. */
export function jobErrorText(t: TTranslate, code: string, message: string): string {
  return (JOB_ERROR_CODES as readonly string[]).includes(code)
    ? t(`jobErrors.${code}` as TMessageKey)
    : message || t('apiErrors.unknown');
}

export type TApiErrorLike = {
  code: string;
  message: string;
  param?: string | null;
  reason?: { code: string; params?: Record<string, unknown> } | null;
};

/** A validation reason from the API (`error.reason`, errors.ts zodReason) as a sentence. */
export function reasonText(t: TTranslate, reason: NonNullable<TApiErrorLike['reason']>): string | undefined {
  const p = vars(reason.params);
  if (!reason.code.startsWith('zod.')) return maybe(t, `validation.${reason.code}`, p);
  const code = reason.code.slice(4);
  const origin = String(p.origin ?? '');
  switch (code) {
    case 'invalid_type': {
      if (p.expected === undefined) return t('validation.custom');
      return maybe(t, `validation.types.${p.expected}`)
        ? t('validation.invalid_type', { expected: t(`validation.types.${p.expected}` as TMessageKey) })
        : t('validation.custom');
    }
    case 'too_small':
    case 'too_big': {
      if (code === 'too_small' && origin === 'string' && p.minimum === 1) return t('validation.required');
      const kind = origin === 'number' || origin === 'int' || origin === 'bigint' ? 'number' : origin;
      const exclusive = kind === 'number' && p.inclusive === 'false' ? '_exclusive' : '';
      return maybe(t, `validation.${code}_${kind}${exclusive}`, p) ?? t('validation.custom');
    }
    case 'invalid_format':
      return maybe(t, `validation.invalid_format_${p.format}`) ?? t('validation.invalid_format');
    default:
      return maybe(t, `validation.${code}`, p) ?? t('validation.custom');
  }
}

/** A field path from the API (`hyperparameters.batchSize`) as the label a person sees, when there is one. */
function fieldLabel(t: TTranslate, param: string | null | undefined): string | undefined {
  if (!param) return undefined;
  const last = param.split('.').at(-1) ?? param;
  return param.startsWith('hyperparameters.') ? hyperparameterLabel(t, last) : undefined;
}

/**
 * An API error in the reader's language. English readers get the server's own sentence (the most precise); other
 * languages get the reason when the server gave one, else the error code's sentence — never the English text.
 */
export function apiErrorText(t: TTranslate, locale: string, e: TApiErrorLike): string {
  if (locale === 'en') return e.message;
  const reason = e.reason ? reasonText(t, e.reason) : undefined;
  if (reason) {
    const field = fieldLabel(t, e.param);
    return field ? t('validation.field', { field, message: reason }) : reason;
  }
  return maybe(t, `apiErrors.${e.code}`) ?? t('apiErrors.unknown');
}

/** A dataset problem group's sentence by its code (the English one stays in the API's report). */
export const datasetProblemText = (t: TTranslate, code: string, message: string) =>
  maybe(t, `datasetProblems.${code}`) ?? message;

/** A problem example's detail by its code (packages/datasets details.ts); details without a code as written. */
export function datasetDetailText(
  t: TTranslate,
  e: { detail?: string; detailCode?: string; params?: Record<string, unknown> },
): string | undefined {
  if (!e.detailCode) return e.detail;
  const p = vars(e.params);
  if (e.detailCode === 'row_not_object' && p.kind !== undefined) {
    p.kind = maybe(t, `datasetDetails.jsonKinds.${p.kind}`) ?? p.kind;
  }
  if (e.detailCode === 'turn_order' && typeof p.expected === 'string') {
    p.expected = p.expected.split('/').join(t('datasetDetails.orJoin'));
  }
  return maybe(t, `datasetDetails.${e.detailCode}`, p) ?? e.detail;
}

/**
 * A hyper-parameter's name for people ("Batch size" / "批大小"), never its camelCase API key; the key is for a
 * tooltip. Unknown keys (a newer worker's) show as they are.
 */
export function hyperparameterLabel(t: TTranslate, key: string): string {
  return maybe(t, `fineTuning.hp.${key}`) ?? maybe(t, `hpNames.${key}`) ?? key;
}

/** A hyper-parameter's value: words in the reader's language for auto / all / yes / no and the schedules. */
export function hyperparameterValue(
  t: TTranslate,
  value: unknown,
  format: (v: unknown) => string,
  key?: string,
): string {
  if (key === 'lrScheduler' && typeof value === 'string') {
    return maybe(t, `fineTuning.hp.scheduler.${value}`) ?? value;
  }
  if (key === 'prefLoss' && typeof value === 'string') return maybe(t, `fineTuning.loss.${value}`) ?? value;
  if (value === 'auto') return t('hpNames.auto');
  if (value === 'all') return t('hpNames.all');
  if (value === true) return t('hpNames.yes');
  if (value === false) return t('hpNames.no');
  return format(value);
}

/** Seeded by `crucible models seed-demo` (packages/services/src/models.ts) as the demo model's display name. */
const DEMO_MODEL_DISPLAY_NAME = 'Demo model (random weights)';

/** A model's name as shown: its display name, else its id; the seeded demo model's name in the reader's language. */
export function modelName(t: TTranslate, m: { name: string; displayName?: string | null }): string {
  const name = m.displayName ?? m.name;
  return name === DEMO_MODEL_DISPLAY_NAME ? t('seeded.demoModel') : name;
}

/** Where a base model came from (ModelSource: builtin, local, huggingface, modelscope, upload). */
export const modelSourceText = (t: TTranslate, source: string) => maybe(t, `modelSources.${source}`) ?? source;

/** A price unit ("1K tokens", "hour", "GB-month") in the reader's language. */
export const unitText = (t: TTranslate, unit: string) => maybe(t, `units.${unit}`) ?? unit;

/** The instance's seeded price list is named "Default" in the database; other names are the admin's own. */
export const priceListName = (t: TTranslate, name: string) => (name === 'Default' ? t('units.defaultPriceList') : name);
