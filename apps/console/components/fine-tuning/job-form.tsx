'use client';

import {
  DEMO_PRESET,
  isLoraMethod,
  methodOf,
  PREF_LOSSES,
  STAGE_DATASET_KIND,
  stageOf,
  TRAINING_STAGES,
  type TTrainingStage,
} from '@crucible/jobs/fine-tuning';
import { AlertTriangleIcon, PlayIcon } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { Skeleton } from '@/components/ui/skeleton';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { modelName } from '@/lib/i18n/domain';
import { cn, formatNumber } from '@/lib/utils';
import { EstimateCard } from './estimate-card';
import { HyperparameterFields } from './hyperparameter-fields';
import { Picker } from './picker';
import { EMPTY_FORM, fieldOf, fromJob, type TFormValues, validateBody } from './schema';
import { ftPaths, type TEstimate, type TFineTunedModel, type TJob } from './types';
import { type TVersionOption, useEstimate, useFormData } from './use-form-data';

type TPreselect = { baseModelId: string | null; trainingVersionId: string | null };

/**
 * `/w/[slug]/fine-tuning/new` (and `?from=JOBID` for clone and edit, `?base=ID&version=ID` from the getting-started
 * path): pick, tune, see the estimate, Start.
 */
export function CreateJobForm({ fromJobId, preselect }: { fromJobId: string | null; preselect?: TPreselect }) {
  const t = useT();
  const { workspace } = useWorkspace();
  const { state, retry } = useFormData(workspace.slug, fromJobId);
  if (state.status === 'loading') {
    return (
      <div role="status" aria-label={t('common.loading')} className="grid gap-4 lg:grid-cols-[1fr_320px]">
        <Skeleton className="h-96" />
        <Skeleton className="h-64" />
      </div>
    );
  }
  if (state.status === 'error') {
    return (
      <EmptyState
        icon={AlertTriangleIcon}
        title={t('errors.title')}
        description={state.error.code === 'network' ? t('errors.network') : state.error.message}
        action={
          <Button variant="outline" onClick={retry}>
            {t('common.retry')}
          </Button>
        }
      />
    );
  }
  return (
    <FormBody
      baseModels={state.baseModels}
      fineTuned={state.fineTuned}
      versions={state.versions}
      initial={state.source ? fromJob(state.source) : preselected(preselect, state.baseModels, state.versions)}
    />
  );
}

/** The ?base= / ?version= choices when they are ones the form offers (a demo model switches to its method). */
function preselected(
  p: TPreselect | undefined,
  models: Array<{ id: string; demo?: boolean }>,
  versions: Array<{ id: string }>,
): TFormValues | null {
  const model = models.find((m) => m.id === p?.baseModelId);
  const version = versions.find((v) => v.id === p?.trainingVersionId);
  if (!model && !version) return null;
  return {
    ...EMPTY_FORM,
    ...(model ? { baseModelId: model.id, method: model.demo ? DEMO_PRESET.method : EMPTY_FORM.method } : {}),
    ...(version ? { trainingVersionId: version.id } : {}),
  };
}

const onlyChoice = (list: Array<{ id: string }>) => (list.length === 1 ? list[0].id : '');

function versionLabel(v: TVersionOption, locale: string, t: ReturnType<typeof useT>) {
  const rows = v.rowCount == null ? '' : ` · ${t('fineTuning.form.rows', { count: formatNumber(v.rowCount, locale) })}`;
  return `${v.datasetName} · v${v.number}${rows}`;
}

/** Whether a version holds the rows a stage trains on (sft also takes raw text, as the API does). */
function versionFits(v: TVersionOption, stage: TTrainingStage): boolean {
  const kind = v.kind ?? 'chat';
  return kind === STAGE_DATASET_KIND[stage] || (stage === 'sft' && kind === 'text');
}

/** Picker values of fine-tuned models carry this prefix (base model ids never do). */
const FT = 'ft:';

function FormBody({
  baseModels,
  fineTuned,
  versions,
  initial,
}: {
  fineTuned: TFineTunedModel[];
  baseModels: Array<{
    id: string;
    name: string;
    displayName?: string | null;
    arch?: string | null;
    demo?: boolean;
    builtin?: boolean;
  }>;
  versions: TVersionOption[];
  initial: TFormValues | null;
}) {
  const t = useT();
  const locale = useLocale();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const [values, setValues] = React.useState<TFormValues>(() => ({
    ...EMPTY_FORM,
    // One choice is no choice: preselect it. The workspace's own models come first (the instance's, such as the
    // demo model, are the fallback of a workspace that has none).
    baseModelId: onlyChoice(baseModels.some((m) => !m.builtin) ? baseModels.filter((m) => !m.builtin) : baseModels),
    trainingVersionId: onlyChoice(versions.filter((v) => versionFits(v, stageOf(EMPTY_FORM.method)))),
    ...initial,
  }));
  const [errors, setErrors] = React.useState<Record<string, string | undefined>>({});
  const [formError, setFormError] = React.useState<string | null>(null);
  const [submitting, setSubmitting] = React.useState(false);

  const set = React.useCallback(<K extends keyof TFormValues>(field: K, value: TFormValues[K]) => {
    setValues((v) => ({ ...v, [field]: value }));
    setErrors((e) => (e[field] ? { ...e, [field]: undefined } : e));
  }, []);

  const checked = React.useMemo(() => validateBody(values), [values]);
  const estimate = useEstimate<TEstimate>(workspace.slug, checked.ok ? checked.body : null);

  if (baseModels.length === 0 || versions.length === 0) {
    return <MissingPrerequisites noModels={baseModels.length === 0} noData={versions.length === 0} />;
  }

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setFormError(null);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setSubmitting(true);
    try {
      const job = await api<TJob>(ftPaths.jobs(workspace.slug), { method: 'POST', body: checked.body });
      router.push(`/w/${workspace.slug}/fine-tuning/${job.id}`);
    } catch (error) {
      setSubmitting(false);
      const field = error instanceof ApiError && error.param ? fieldOf(error.param) : null;
      // A field the form shows gets the message beside it; anything else (a setting not on screen) goes above Start.
      if (field && field in values && error instanceof ApiError) setErrors({ [field]: error.message });
      else setFormError(error instanceof ApiError && error.code !== 'network' ? error.message : t('errors.network'));
    }
  };

  const stage = stageOf(values.method);
  const lora = isLoraMethod(values.method);
  const modelOptions = [
    ...baseModels.map((m) => {
      const name = m.demo ? `${modelName(t, m)} · ${t('fineTuning.form.demoLabel')}` : m.name;
      return { value: m.id, label: m.arch ? `${name} (${m.arch})` : name };
    }),
    // A fine-tuned model continues (SFT -> DPO): its adapter, or its weights for a full fine-tune.
    ...fineTuned
      .filter((m) => m.baseModel)
      .map((m) => ({
        value: `${FT}${m.id}`,
        label: `${m.displayName || m.name} · ${t('fineTuning.form.fineTunedLabel')}`,
      })),
  ];
  const parent = fineTuned.find((m) => m.id === values.fromModelId);
  const demo = !parent && baseModels.find((m) => m.id === values.baseModelId)?.demo === true;
  const pickModel = (value: string) => {
    const ft = value.startsWith(FT) ? fineTuned.find((m) => `${FT}${m.id}` === value) : undefined;
    set('fromModelId', ft?.id ?? '');
    set('baseModelId', ft?.baseModel?.id ?? value);
    // A continued model keeps its fine-tuning type; the demo model learns with its preset only (full fine-tuning,
    // the preset fills every setting left empty).
    if (ft) set('method', methodOf(stage, isLoraMethod(ft.method)));
    else if (baseModels.find((m) => m.id === value)?.demo)
      set('method', methodOf(stage, isLoraMethod(DEMO_PRESET.method)));
  };
  const pickStage = (next: TTrainingStage) => {
    set('method', methodOf(next, lora));
    // Each method trains on its own kind of dataset: a version of another kind is unpicked.
    const fits = (id: string) => versions.some((v) => v.id === id && versionFits(v, next));
    // One version of the new kind is no choice: preselect it.
    if (!fits(values.trainingVersionId)) {
      set('trainingVersionId', onlyChoice(versions.filter((v) => versionFits(v, next))));
    }
    if (values.validationVersionId && !fits(values.validationVersionId)) set('validationVersionId', '');
  };
  const versionOptions = versions
    .filter((v) => versionFits(v, stage))
    .map((v) => ({ value: v.id, label: versionLabel(v, locale, t) }));

  return (
    <form onSubmit={submit} noValidate className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_320px]">
      <div className="grid gap-6">
        <Card>
          <CardHeader>
            <CardTitle>{t('fineTuning.form.dataTitle')}</CardTitle>
            <CardDescription>{t('fineTuning.form.dataDescription')}</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-5">
            <FormField label={t('fineTuning.form.baseModel')} error={errors.baseModelId}>
              <Picker
                value={values.fromModelId ? `${FT}${values.fromModelId}` : values.baseModelId}
                onChange={pickModel}
                options={modelOptions}
                placeholder={t('fineTuning.form.pickModel')}
              />
            </FormField>
            {demo ? <DemoPresetNote /> : null}
            <FormField
              label={t('fineTuning.form.trainingVersion')}
              hint={
                versionOptions.length === 0
                  ? t('fineTuning.form.noVersionsOfKind', { kind: t(`fineTuning.kind.${STAGE_DATASET_KIND[stage]}`) })
                  : t('fineTuning.form.trainingVersionHelp', {
                      kind: t(`fineTuning.kind.${STAGE_DATASET_KIND[stage]}`),
                    })
              }
              error={errors.trainingVersionId}
            >
              <Picker
                value={values.trainingVersionId}
                onChange={(v) => set('trainingVersionId', v)}
                options={versionOptions}
                placeholder={t('fineTuning.form.pickVersion')}
              />
            </FormField>
            <fieldset className="grid gap-3">
              <legend className="mb-2 text-sm font-medium">{t('fineTuning.form.validation')}</legend>
              <div className="flex flex-wrap gap-4 text-sm">
                {(['none', 'split', 'version'] as const).map((mode) => (
                  <label key={mode} className="flex items-center gap-2">
                    <input
                      type="radio"
                      name="validation"
                      value={mode}
                      checked={values.validation === mode}
                      onChange={() => set('validation', mode)}
                      className="accent-primary"
                    />
                    {t(`fineTuning.form.validationMode.${mode}`)}
                  </label>
                ))}
              </div>
              {values.validation === 'split' ? (
                <FormField
                  label={t('fineTuning.form.valSplit')}
                  hint={t('fineTuning.form.valSplitHelp')}
                  error={errors.valSplit}
                >
                  <Input
                    inputMode="decimal"
                    value={values.valSplit}
                    onChange={(e) => set('valSplit', e.target.value)}
                  />
                </FormField>
              ) : null}
              {values.validation === 'version' ? (
                <FormField label={t('fineTuning.form.validationVersion')} error={errors.validationVersionId}>
                  <Picker
                    value={values.validationVersionId}
                    onChange={(v) => set('validationVersionId', v)}
                    options={versionOptions.filter((o) => o.value !== values.trainingVersionId)}
                    placeholder={t('fineTuning.form.pickVersion')}
                  />
                </FormField>
              ) : null}
            </fieldset>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>{t('fineTuning.form.methodTitle')}</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-6">
            <Choices
              name="stage"
              legend={t('fineTuning.form.stageTitle')}
              value={stage}
              options={TRAINING_STAGES.map((s) => ({
                value: s,
                label: t(`fineTuning.stage.${s}`),
                help: t(`fineTuning.stage.${s}Help`),
              }))}
              onChange={pickStage}
            />
            <Choices
              name="finetuningType"
              legend={t('fineTuning.form.typeTitle')}
              value={lora ? 'lora' : 'full'}
              // A continued model keeps its own type.
              disabled={Boolean(values.fromModelId)}
              options={(['lora', 'full'] as const).map((k) => ({
                value: k,
                label: t(`fineTuning.finetuningType.${k}`),
                help: t(`fineTuning.finetuningType.${k}Help`),
              }))}
              onChange={(k) => set('method', methodOf(stage, k === 'lora'))}
            />
            {stage === 'dpo' ? (
              <Choices
                name="prefLoss"
                legend={t('fineTuning.form.lossTitle')}
                value={values.prefLoss || 'sigmoid'}
                options={PREF_LOSSES.map((l) => ({
                  value: l,
                  label: t(`fineTuning.loss.${l}`),
                  help: t(`fineTuning.loss.${l}Help`),
                }))}
                onChange={(l) => set('prefLoss', l === 'sigmoid' ? '' : l)}
              />
            ) : null}
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>{t('fineTuning.form.hyperparametersTitle')}</CardTitle>
            <CardDescription>{t('fineTuning.form.hyperparametersDescription')}</CardDescription>
          </CardHeader>
          <CardContent>
            <HyperparameterFields values={values} errors={errors} set={set} />
            <FormField
              className="mt-6"
              label={t('fineTuning.form.suffix')}
              hint={t('fineTuning.form.suffixHelp')}
              error={errors.suffix}
            >
              <Input value={values.suffix} autoComplete="off" onChange={(e) => set('suffix', e.target.value)} />
            </FormField>
          </CardContent>
        </Card>
      </div>

      <div className="grid gap-4 lg:sticky lg:top-6">
        <EstimateCard
          estimate={estimate.value}
          error={estimate.error}
          loading={estimate.loading}
          pairs={stage === 'dpo'}
          ready={checked.ok}
          notReadyHint={
            values.baseModelId && values.trainingVersionId
              ? t('fineTuning.estimate.fixErrors')
              : t('fineTuning.estimate.pickFirst')
          }
        >
          {formError || errors._form ? (
            <p className="text-sm text-destructive" role="alert">
              {formError ?? errors._form}
            </p>
          ) : null}
          <Button type="submit" loading={submitting} className="w-full">
            <PlayIcon aria-hidden />
            {t('fineTuning.form.start')}
          </Button>
        </EstimateCard>
      </div>
    </form>
  );
}

/** A group of radio cards, each with a one-line explanation. */
function Choices<T extends string>({
  name,
  legend,
  value,
  options,
  onChange,
  disabled,
}: {
  name: string;
  legend: string;
  value: T;
  options: ReadonlyArray<{ value: T; label: string; help: string }>;
  onChange: (value: T) => void;
  disabled?: boolean;
}) {
  return (
    <fieldset disabled={disabled}>
      <legend className="mb-2 text-sm font-medium">{legend}</legend>
      <div className={cn('grid gap-3', options.length > 3 ? 'sm:grid-cols-3 lg:grid-cols-5' : 'sm:grid-cols-3')}>
        {options.map((o) => (
          <label
            key={o.value}
            className={cn(
              'flex cursor-pointer flex-col gap-1 rounded-lg border p-3 text-sm has-[:checked]:border-primary has-[:checked]:bg-primary/5',
              disabled && 'cursor-not-allowed opacity-60',
            )}
          >
            <span className="flex items-center gap-2 font-medium">
              <input
                type="radio"
                name={name}
                value={o.value}
                checked={value === o.value}
                onChange={() => onChange(o.value)}
                className="accent-primary"
              />
              {o.label}
            </span>
            <span className="text-xs text-muted-foreground">{o.help}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function MissingPrerequisites({ noModels, noData }: { noModels: boolean; noData: boolean }) {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <EmptyState
      icon={AlertTriangleIcon}
      title={t('fineTuning.form.missingTitle')}
      description={[noModels ? t('fineTuning.form.noModels') : '', noData ? t('fineTuning.form.noData') : '']
        .filter(Boolean)
        .join(' ')}
      action={
        <>
          {noModels ? (
            <Button asChild variant="outline">
              <Link href={`/w/${workspace.slug}/models`}>{t('fineTuning.form.goModels')}</Link>
            </Button>
          ) : null}
          {noData ? (
            <Button asChild variant="outline">
              <Link href={`/w/${workspace.slug}/datasets`}>{t('fineTuning.form.goDatasets')}</Link>
            </Button>
          ) : null}
        </>
      }
    />
  );
}

/** What the demo model trains with when the settings below are left empty, in words and numbers. */
function DemoPresetNote() {
  const t = useT();
  const locale = useLocale();
  const h = DEMO_PRESET.hyperparameters;
  return (
    <div role="note" className="rounded-lg border border-primary/30 bg-primary/5 p-4 text-sm">
      <p className="font-medium">{t('fineTuning.form.demoPresetTitle')}</p>
      <p className="mt-1 text-muted-foreground">
        {t('fineTuning.form.demoPresetBody', {
          epochs: formatNumber(h.epochs, locale),
          lr: String(h.learningRate),
          batch: formatNumber(h.batchSize, locale),
          cutoff: formatNumber(h.cutoffLen, locale),
        })}
      </p>
    </div>
  );
}
