'use client';

import { isLoraMethod, stageOf } from '@crucible/jobs/fine-tuning';
import { ChevronRightIcon } from 'lucide-react';
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useT } from '@/lib/i18n/client';
import type { TMessageKey } from '@/lib/i18n/translate';
import { formatMetric } from './format';
import { Picker } from './picker';
import { defaultHyperparameters, fieldApplies, type TFormValues } from './schema';

/**
 * The API's defaults (LLaMA-Factory's, from the shared contract in @crucible/jobs/fine-tuning), shown as
 * placeholders only: an empty field is left out of the request and the server applies the same default. A cloned
 * job shows the values it really ran with.
 */
function defaultsFor(method: TFormValues['method']): Record<string, string> {
  const d = defaultHyperparameters(method);
  return Object.fromEntries(
    Object.entries(d).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.join(', ') : typeof v === 'number' ? formatMetric(v) : String(v),
    ]),
  );
}

type TTextField = Exclude<keyof TFormValues, 'validation' | 'method' | 'lrScheduler' | 'prefLoss' | 'fromModelId'>;

export function HyperparameterFields({
  values,
  errors,
  set,
}: {
  values: TFormValues;
  errors: Record<string, string | undefined>;
  set: <K extends keyof TFormValues>(field: K, value: TFormValues[K]) => void;
}) {
  const t = useT();
  // A continued adapter keeps its own rank, alpha, dropout and targets.
  const lora = isLoraMethod(values.method) && !values.fromModelId;
  const stage = stageOf(values.method);
  const loss = values.prefLoss || 'sigmoid';
  const pref = (name: TTextField) => (fieldApplies(name, values.method) ? field(name) : null);
  const defaults = defaultsFor(values.method);
  const field = (name: TTextField, opts: { mode?: 'decimal' | 'numeric' | 'text' } = {}) => {
    const fallback = defaults[name];
    return (
      <FormField
        key={name}
        label={t(`fineTuning.hp.${name}` as TMessageKey)}
        hint={t(`fineTuning.hp.${name}Help` as TMessageKey)}
        error={errors[name]}
      >
        <Input
          name={name}
          inputMode={opts.mode ?? 'decimal'}
          autoComplete="off"
          value={values[name]}
          placeholder={fallback ? t('fineTuning.form.defaultValue', { value: fallback }) : undefined}
          onChange={(e) => set(name, e.target.value)}
        />
      </FormField>
    );
  };
  return (
    <>
      <div className="grid gap-5 sm:grid-cols-2">
        {field('epochs', { mode: 'text' })}
        {field('learningRate')}
        {field('batchSize', { mode: 'numeric' })}
        {field('gradientAccumulationSteps', { mode: 'numeric' })}
        {lora ? field('loraRank', { mode: 'numeric' }) : null}
        {lora ? field('loraAlpha') : null}
        {lora ? field('loraDropout') : null}
        {field('cutoffLen', { mode: 'numeric' })}
      </div>
      {stage === 'sft' ? null : (
        <fieldset className="mt-6">
          <legend className="mb-3 text-sm font-medium">{t('fineTuning.form.preferenceTitle')}</legend>
          <div className="grid gap-5 sm:grid-cols-2">
            {pref('prefBeta')}
            {pref('prefFtx')}
            {loss === 'simpo' ? pref('simpoGamma') : null}
            {loss === 'sigmoid' ? pref('dpoLabelSmoothing') : null}
            {pref('ktoChosenWeight')}
            {pref('ktoRejectedWeight')}
          </div>
        </fieldset>
      )}
      <details className="group mt-6 rounded-lg border">
        <summary className="flex cursor-pointer list-none items-center gap-2 px-4 py-3 text-sm font-medium select-none">
          <ChevronRightIcon className="size-4 transition-transform group-open:rotate-90" aria-hidden />
          {t('fineTuning.form.advanced')}
        </summary>
        <div className="grid gap-5 border-t p-4 sm:grid-cols-2">
          {lora ? field('loraTargets', { mode: 'text' }) : null}
          {field('warmupRatio')}
          <FormField
            label={t('fineTuning.hp.lrScheduler')}
            hint={t('fineTuning.hp.lrSchedulerHelp')}
            error={errors.lrScheduler}
          >
            <Picker
              value={values.lrScheduler}
              onChange={(v) => set('lrScheduler', v as TFormValues['lrScheduler'])}
              placeholder={t('fineTuning.form.defaultValue', { value: defaults.lrScheduler ?? '' })}
              options={(['cosine', 'linear', 'constant'] as const).map((s) => ({
                value: s,
                label: t(`fineTuning.hp.scheduler.${s}`),
              }))}
            />
          </FormField>
          {field('seed', { mode: 'numeric' })}
          {field('saveSteps', { mode: 'numeric' })}
          {field('evalSteps', { mode: 'numeric' })}
          {field('loggingSteps', { mode: 'numeric' })}
        </div>
      </details>
    </>
  );
}
