'use client';

import { ChevronRightIcon } from 'lucide-react';
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useT } from '@/lib/i18n/client';
import type { TMessageKey } from '@/lib/i18n/translate';
import { Picker } from './picker';
import type { TFormValues } from './schema';

/**
 * LLaMA-Factory's defaults, shown as placeholders only: an empty field is left out of the request and the API
 * applies its own default, so these never override the server. A cloned job shows the values it really ran with.
 */
const DEFAULTS: Record<string, string> = {
  epochs: 'auto',
  learningRate_lora: '5e-5',
  learningRate_full: '1e-5',
  batchSize: '1',
  gradientAccumulationSteps: '4',
  loraRank: '8',
  loraAlpha: '16',
  loraDropout: '0',
  loraTargets: 'all',
  cutoffLen: '2048',
  warmupRatio: '0.1',
  seed: '42',
  saveSteps: '500',
  evalSteps: '500',
  loggingSteps: '5',
};

type TTextField = Exclude<keyof TFormValues, 'validation' | 'method' | 'lrScheduler'>;

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
  const lora = values.method === 'sft_lora';
  const field = (name: TTextField, opts: { mode?: 'decimal' | 'numeric' | 'text'; defaultKey?: string } = {}) => {
    const fallback = DEFAULTS[opts.defaultKey ?? name];
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
        {field('learningRate', { defaultKey: lora ? 'learningRate_lora' : 'learningRate_full' })}
        {field('batchSize', { mode: 'numeric' })}
        {field('gradientAccumulationSteps', { mode: 'numeric' })}
        {lora ? field('loraRank', { mode: 'numeric' }) : null}
        {lora ? field('loraAlpha') : null}
        {lora ? field('loraDropout') : null}
        {field('cutoffLen', { mode: 'numeric' })}
      </div>
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
              placeholder={t('fineTuning.form.defaultValue', { value: 'cosine' })}
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
