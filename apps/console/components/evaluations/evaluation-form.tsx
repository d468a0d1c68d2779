'use client';

import { AlertTriangleIcon, PlayIcon } from 'lucide-react';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import type { TDeployment } from '@/components/deployments/api';
import { Picker } from '@/components/fine-tuning/picker';
import type {
  TBaseModel,
  TCheckpoint,
  TDataset,
  TDatasetVersion,
  TFineTunedModel,
  TJob,
} from '@/components/fine-tuning/types';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { Skeleton } from '@/components/ui/skeleton';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api, failureText, type TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import { evaluationPaths, type TEvaluation } from './api';

type TModelOption =
  | { key: string; kind: 'base' | 'fine_tuned'; id: string; label: string }
  /** A stored checkpoint of the job that made a fine-tuned model: `id` is the job's, listed under that model. */
  | { key: string; kind: 'checkpoint'; id: string; step: number; label: string };
type TSourceOption = { value: string; label: string };
type TOptions = { models: TModelOption[]; sources: TSourceOption[]; judges: { value: string; label: string }[] };

/** Everything the form picks from: models, chat dataset versions, jobs' validation files or held-out rows, running deployments. */
function useOptions(slug: string, t: ReturnType<typeof useT>, locale: string) {
  const [state, setState] = React.useState<
    { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ready'; options: TOptions }
  >({ status: 'loading' });
  React.useEffect(() => {
    let live = true;
    (async () => {
      const [bases, fts, datasets, jobs, deployments] = await Promise.all([
        api<TList<TBaseModel>>(evaluationPaths.baseModels(slug)),
        api<TList<TFineTunedModel>>(evaluationPaths.fineTunedModels(slug)),
        api<TList<TDataset>>(evaluationPaths.datasets(slug)),
        api<TList<TJob>>(evaluationPaths.jobs(slug)),
        api<TList<TDeployment>>(evaluationPaths.deployments(slug)),
      ]);
      const versions = await Promise.all(
        (datasets.data ?? []).map(async (d) =>
          ((await api<TList<TDatasetVersion>>(evaluationPaths.versions(slug, d.id))).data ?? [])
            .filter((v) => v.format === 'chatml' && (v.rowCount ?? 0) > 0)
            .map((v) => ({
              value: `version:${v.id}`,
              label: t('evaluations.form.version', {
                dataset: d.name,
                number: v.number,
                rows: formatNumber(v.rowCount ?? 0, locale),
              }),
            })),
        ),
      );
      // Each fine-tuned model's job's stored checkpoints, listed under it.
      const checkpoints = await Promise.all(
        (fts.data ?? []).map(async (m) =>
          m.job ? ((await api<TList<TCheckpoint>>(evaluationPaths.checkpoints(slug, m.job.id))).data ?? []) : [],
        ),
      );
      return {
        models: [
          ...(fts.data ?? []).flatMap((m, i): TModelOption[] => [
            { key: `fine_tuned:${m.id}`, kind: 'fine_tuned', id: m.id, label: m.displayName ?? m.name },
            ...checkpoints[i].map((c) => ({
              key: `checkpoint:${m.job?.id}:${c.step}`,
              kind: 'checkpoint' as const,
              id: m.job?.id ?? '',
              step: c.step,
              label: t('evaluations.form.checkpoint', {
                model: m.displayName ?? m.name,
                step: formatNumber(c.step, locale),
              }),
            })),
          ]),
          ...(bases.data ?? []).map((m) => ({
            key: `base:${m.id}`,
            kind: 'base' as const,
            id: m.id,
            label: m.displayName ?? m.name,
          })),
        ],
        sources: [
          ...versions.flat(),
          ...(jobs.data ?? [])
            .filter((j) => j.validationVersion || j.heldOut)
            .map((j) => ({
              value: `job:${j.id}`,
              label: j.heldOut
                ? t('evaluations.form.jobHeldOut', {
                    job: j.suffix ?? j.id.slice(-8),
                    rows: formatNumber(j.heldOut.rows, locale),
                  })
                : t('evaluations.form.jobValidation', { job: j.suffix ?? j.id.slice(-8) }),
            })),
        ],
        judges: (deployments.data ?? [])
          .filter((d) => d.status === 'running')
          .map((d) => ({ value: d.id, label: d.model ? `${d.name} · ${d.model.name}` : d.name })),
      };
    })()
      .then((options) => live && setState({ status: 'ready', options }))
      .catch((error: unknown) => {
        if (live)
          setState({
            status: 'error',
            error: error instanceof ApiError ? error : new ApiError(0, 'unknown', String(error)),
          });
      });
    return () => {
      live = false;
    };
  }, [slug, t, locale]);
  return state;
}

/** `/w/[slug]/evaluations/new`: models, rows, generation settings and metrics; Start. */
export function EvaluationForm() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const state = useOptions(workspace.slug, t, locale);
  if (state.status === 'loading') {
    return <Skeleton className="h-96" role="status" aria-label={t('common.loading')} />;
  }
  if (state.status === 'error') {
    return <EmptyState icon={AlertTriangleIcon} title={t('errors.title')} description={state.error.message} />;
  }
  return <FormBody options={state.options} />;
}

type TErrors = Partial<Record<'name' | 'models' | 'source' | 'metrics' | 'settings' | 'schema' | 'judge', string>>;

function FormBody({ options }: { options: TOptions }) {
  const t = useT();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const [name, setName] = React.useState('');
  const [models, setModels] = React.useState<string[]>(() =>
    options.models
      .filter((m) => m.kind !== 'checkpoint')
      .slice(0, 2)
      .map((m) => m.key),
  );
  const [source, setSource] = React.useState(options.sources.length === 1 ? options.sources[0].value : '');
  const [maxNewTokens, setMaxNewTokens] = React.useState('128');
  const [temperature, setTemperature] = React.useState('0');
  const [topP, setTopP] = React.useState('1');
  const [similarity, setSimilarity] = React.useState(true);
  const [exact, setExact] = React.useState(true);
  const [json, setJson] = React.useState(false);
  const [schema, setSchema] = React.useState('{\n  "type": "object"\n}');
  const [judge, setJudge] = React.useState(false);
  const [judgeId, setJudgeId] = React.useState(options.judges[0]?.value ?? '');
  const [rubric, setRubric] = React.useState(() => t('evaluations.form.rubricDefault'));
  const [errors, setErrors] = React.useState<TErrors>({});
  const [formError, setFormError] = React.useState<string | null>(null);
  const [submitting, setSubmitting] = React.useState(false);

  if (options.models.length === 0 || options.sources.length === 0) {
    return (
      <EmptyState
        icon={AlertTriangleIcon}
        title={t('evaluations.form.title')}
        description={options.models.length === 0 ? t('evaluations.form.noModels') : t('evaluations.form.noSource')}
      />
    );
  }

  const body = (): { ok: true; body: unknown } | { ok: false; errors: TErrors } => {
    const e: TErrors = {};
    if (!name.trim()) e.name = t('evaluations.form.invalid.name');
    if (!models.length) e.models = t('evaluations.form.invalid.models');
    if (!source) e.source = t('evaluations.form.invalid.source');
    const settings = { maxNewTokens: Number(maxNewTokens), temperature: Number(temperature), topP: Number(topP) };
    if (
      !Number.isInteger(settings.maxNewTokens) ||
      settings.maxNewTokens < 1 ||
      settings.maxNewTokens > 4096 ||
      !(settings.temperature >= 0 && settings.temperature <= 2) ||
      !(settings.topP > 0 && settings.topP <= 1)
    ) {
      e.settings = t('evaluations.form.invalid.number');
    }
    const criteria: unknown[] = [];
    if (similarity) criteria.push({ type: 'similarity' });
    if (exact) criteria.push({ type: 'exact_match' });
    if (json) {
      try {
        const parsed = JSON.parse(schema) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        criteria.push({ type: 'json_schema', schema: parsed });
      } catch {
        e.schema = t('evaluations.form.invalid.schema');
      }
    }
    if (judge) {
      if (!judgeId || !rubric.trim()) e.judge = t('evaluations.form.invalid.judge');
      else criteria.push({ type: 'judge', deploymentId: judgeId, rubric: rubric.trim() });
    }
    if (!similarity && !exact && !json && !judge) e.metrics = t('evaluations.form.invalid.metrics');
    if (Object.keys(e).length) return { ok: false, errors: e };
    const [kind, id] = source.split(':') as ['version' | 'job', string];
    return {
      ok: true,
      body: {
        name: name.trim(),
        models: models.map((key) => {
          const m = options.models.find((x) => x.key === key)!;
          return m.kind === 'checkpoint' ? { kind: m.kind, id: m.id, step: m.step } : { kind: m.kind, id: m.id };
        }),
        source: kind === 'version' ? { datasetVersionId: id } : { trainingJobId: id },
        settings,
        criteria,
      },
    };
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setFormError(null);
    const checked = body();
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      const created = await api<TEvaluation>(evaluationPaths.list(workspace.slug), {
        method: 'POST',
        body: checked.body,
      });
      router.push(`/w/${workspace.slug}/evaluations/${created.id}`);
    } catch (error) {
      setFormError(failureText(error));
      setSubmitting(false);
    }
  };

  const toggleModel = (key: string, on: boolean) =>
    setModels((list) => (on ? [...list.filter((k) => k !== key), key] : list.filter((k) => k !== key)));

  return (
    <form onSubmit={submit} className="grid max-w-3xl gap-6" noValidate>
      <Card>
        <CardHeader>
          <CardTitle>{t('evaluations.form.title')}</CardTitle>
          <CardDescription>{t('evaluations.form.description')}</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <FormField label={t('evaluations.form.name')} error={errors.name}>
            <Input
              value={name}
              maxLength={120}
              placeholder={t('evaluations.form.namePlaceholder')}
              onChange={(e) => setName(e.target.value)}
            />
          </FormField>
          <fieldset className="grid gap-2" aria-describedby="evaluation-models-hint">
            <legend className="text-sm font-medium">{t('evaluations.form.models')}</legend>
            {options.models.map((m) => (
              <label key={m.key} className={`flex items-center gap-2 text-sm${m.kind === 'checkpoint' ? ' pl-6' : ''}`}>
                <input
                  type="checkbox"
                  checked={models.includes(m.key)}
                  onChange={(e) => toggleModel(m.key, e.target.checked)}
                />
                <span className="font-mono text-xs">{m.label}</span>
              </label>
            ))}
            {errors.models ? (
              <p className="text-xs font-medium text-destructive" role="alert">
                {errors.models}
              </p>
            ) : (
              <p id="evaluation-models-hint" className="text-xs text-muted-foreground">
                {t('evaluations.form.modelsHint')}
              </p>
            )}
          </fieldset>
          <FormField label={t('evaluations.form.source')} hint={t('evaluations.form.sourceHint')} error={errors.source}>
            <Picker
              value={source}
              onChange={setSource}
              options={options.sources}
              placeholder={t('evaluations.form.sourcePlaceholder')}
            />
          </FormField>
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>{t('evaluations.form.settings')}</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4 sm:grid-cols-3">
          <FormField label={t('evaluations.form.maxNewTokens')} error={errors.settings}>
            <Input
              type="number"
              min={1}
              max={4096}
              value={maxNewTokens}
              onChange={(e) => setMaxNewTokens(e.target.value)}
            />
          </FormField>
          <FormField label={t('evaluations.form.temperature')} hint={t('evaluations.form.temperatureHint')}>
            <Input
              type="number"
              min={0}
              max={2}
              step={0.1}
              value={temperature}
              onChange={(e) => setTemperature(e.target.value)}
            />
          </FormField>
          <FormField label={t('evaluations.form.topP')}>
            <Input
              type="number"
              min={0.01}
              max={1}
              step={0.05}
              value={topP}
              onChange={(e) => setTopP(e.target.value)}
            />
          </FormField>
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>{t('evaluations.form.metrics')}</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-3">
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={similarity} onChange={(e) => setSimilarity(e.target.checked)} />
            {t('evaluations.form.similarity')}
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={exact} onChange={(e) => setExact(e.target.checked)} />
            {t('evaluations.form.exactMatch')}
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={json} onChange={(e) => setJson(e.target.checked)} />
            {t('evaluations.form.jsonSchema')}
          </label>
          {json ? (
            <FormField label={t('evaluations.form.jsonSchemaLabel')} error={errors.schema}>
              <textarea
                className="h-28 w-full rounded-md border bg-background p-2 font-mono text-xs"
                value={schema}
                onChange={(e) => setSchema(e.target.value)}
              />
            </FormField>
          ) : null}
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={judge}
              disabled={!options.judges.length}
              onChange={(e) => setJudge(e.target.checked)}
            />
            {t('evaluations.form.judge')}
          </label>
          {!options.judges.length ? (
            <p className="text-xs text-muted-foreground">{t('evaluations.form.noJudge')}</p>
          ) : null}
          {judge ? (
            <div className="grid gap-3 border-l-2 pl-4">
              <FormField label={t('evaluations.form.judgeDeployment')} error={errors.judge}>
                <Picker
                  value={judgeId}
                  onChange={setJudgeId}
                  options={options.judges}
                  placeholder={t('evaluations.form.judgePlaceholder')}
                />
              </FormField>
              <FormField label={t('evaluations.form.rubric')}>
                <textarea
                  className="h-24 w-full rounded-md border bg-background p-2 text-sm"
                  value={rubric}
                  onChange={(e) => setRubric(e.target.value)}
                />
              </FormField>
            </div>
          ) : null}
          {errors.metrics ? (
            <p className="text-xs font-medium text-destructive" role="alert">
              {errors.metrics}
            </p>
          ) : null}
        </CardContent>
      </Card>

      {formError ? (
        <p role="alert" className="text-sm text-destructive">
          {formError}
        </p>
      ) : null}
      <div>
        <Button type="submit" loading={submitting}>
          <PlayIcon aria-hidden />
          {t('evaluations.form.submit')}
        </Button>
      </div>
    </form>
  );
}
