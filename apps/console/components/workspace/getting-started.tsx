'use client';

import { CheckCircle2Icon, CircleIcon, LoaderCircleIcon, SparklesIcon } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useT } from '@/lib/i18n/client';
import { cn } from '@/lib/utils';

type TStep = 'done' | 'todo' | 'running';
export type TGettingStarted = {
  demoModel: { id: string; name: string; displayName: string | null } | null;
  dataset: { id: string; name: string; versionId: string; status: string } | null;
  published: { datasetId: string; name: string; versionId: string; number: number } | null;
  job: { id: string; status: string; baseModelId: string } | null;
  model: { id: string; name: string } | null;
  steps: { dataset: TStep; publish: TStep; train: TStep; chat: TStep };
};

const enc = encodeURIComponent;
const REAL_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

/**
 * The first-run path (issue 13), from an empty workspace to a model that visibly learned: import the identity sample,
 * fill its {{name}} / {{author}} and publish, fine-tune the demo model with its preset, chat with the result. Each
 * step says whether it is done and links to where it happens; the state comes from GET .../getting-started and is
 * re-read while a job runs.
 */
export function GettingStarted({ compact = false }: { compact?: boolean }) {
  const t = useT();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const slug = workspace.slug;
  const canWrite = workspace.role !== 'viewer';
  const [state, setState] = React.useState<TGettingStarted | null>(null);
  const [importing, setImporting] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);

  const load = React.useCallback(
    () =>
      api<TGettingStarted>(`/api/workspaces/${enc(slug)}/getting-started`)
        .then(setState)
        .catch(() => undefined),
    [slug],
  );
  React.useEffect(() => {
    void load();
  }, [load]);
  React.useEffect(() => {
    if (state?.steps.train !== 'running') return;
    const timer = setInterval(() => void load(), 5_000);
    return () => clearInterval(timer);
  }, [state?.steps.train, load]);

  const importSample = async () => {
    setImporting(true);
    setError(null);
    try {
      const r = await api<{ datasetId: string; versionId: string }>(`/api/workspaces/${enc(slug)}/datasets/samples`, {
        method: 'POST',
        body: { sample: 'identity' },
      });
      router.push(`/w/${enc(slug)}/datasets/${enc(r.datasetId)}?version=${enc(r.versionId)}`);
    } catch (e) {
      setImporting(false);
      setError(e instanceof ApiError && e.code !== 'network' ? e.message : t('errors.network'));
    }
  };

  if (!state) return null;
  const s = state.steps;
  const trainHref = state.demoModel
    ? `/w/${enc(slug)}/fine-tuning/new?base=${enc(state.demoModel.id)}${state.published ? `&version=${enc(state.published.versionId)}` : ''}`
    : `/w/${enc(slug)}/fine-tuning/new`;

  return (
    <Card className={cn(compact ? '' : 'max-w-3xl')} aria-labelledby="getting-started-title">
      <CardHeader>
        <CardTitle id="getting-started-title" className="flex items-center gap-2">
          <SparklesIcon className="size-5 text-primary" aria-hidden />
          {t('start.title')}
        </CardTitle>
        <CardDescription>{t('start.description')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <ol className="grid gap-4">
          <Step n={1} state={s.dataset} title={t('start.step1')} body={t('start.step1Body')}>
            {s.dataset === 'todo' ? (
              <Button size="sm" onClick={importSample} loading={importing} disabled={!canWrite}>
                {t('start.importSample')}
              </Button>
            ) : state.dataset ? (
              <Button size="sm" variant="outline" asChild>
                <Link href={`/w/${enc(slug)}/datasets/${enc(state.dataset.id)}`}>{t('start.openDataset')}</Link>
              </Button>
            ) : null}
          </Step>
          <Step n={2} state={s.publish} title={t('start.step2')} body={t('start.step2Body')}>
            {s.publish === 'todo' && state.dataset ? (
              <Button size="sm" variant="outline" asChild>
                <Link
                  href={`/w/${enc(slug)}/datasets/${enc(state.dataset.id)}?version=${enc(state.dataset.versionId)}`}
                >
                  {t('start.fillAndPublish')}
                </Link>
              </Button>
            ) : null}
          </Step>
          <Step n={3} state={s.train} title={t('start.step3')} body={t('start.step3Body')}>
            {s.train === 'running' && state.job ? (
              <Button size="sm" variant="outline" asChild>
                <Link href={`/w/${enc(slug)}/fine-tuning/${enc(state.job.id)}`}>{t('start.watchJob')}</Link>
              </Button>
            ) : s.publish === 'done' && s.train !== 'done' ? (
              <Button size="sm" asChild>
                <Link href={trainHref}>{t('start.trainDemo')}</Link>
              </Button>
            ) : null}
          </Step>
          <Step n={4} state={s.chat} title={t('start.step4')} body={t('start.step4Body')}>
            {state.model ? (
              <Button size="sm" asChild>
                <Link href={`/w/${enc(slug)}/playground?model=${enc(state.model.name)}`}>{t('start.chat')}</Link>
              </Button>
            ) : null}
          </Step>
        </ol>
        {error ? (
          <p role="alert" className="text-sm text-destructive">
            {error}
          </p>
        ) : null}
        {!state.demoModel ? <p className="text-sm text-muted-foreground">{t('start.noDemo')}</p> : null}
        <div className="rounded-lg border bg-muted/40 p-4 text-sm">
          <p className="font-medium">{t('start.realModelTitle')}</p>
          <p className="mt-1 text-muted-foreground">{t('start.realModelBody', { model: REAL_MODEL })}</p>
          <pre className="mt-2 overflow-x-auto rounded bg-background p-2 text-xs">
            {`npx crucible models download ${REAL_MODEL} --workspace ${slug} --name qwen2.5-0.5b-instruct`}
          </pre>
        </div>
      </CardContent>
    </Card>
  );
}

function Step({
  n,
  state,
  title,
  body,
  children,
}: {
  n: number;
  state: TStep;
  title: string;
  body: string;
  children?: React.ReactNode;
}) {
  const t = useT();
  const Icon = state === 'done' ? CheckCircle2Icon : state === 'running' ? LoaderCircleIcon : CircleIcon;
  return (
    <li className="flex gap-3" data-step={n} data-state={state}>
      <Icon
        className={cn(
          'mt-0.5 size-5 shrink-0',
          state === 'done' ? 'text-primary' : 'text-muted-foreground',
          state === 'running' && 'animate-spin',
        )}
        aria-label={t(`start.state.${state}`)}
      />
      <div className="grid flex-1 gap-2">
        <div>
          <p className="font-medium">
            {n}. {title}
          </p>
          <p className="text-sm text-muted-foreground">{body}</p>
        </div>
        {children ? <div>{children}</div> : null}
      </div>
    </li>
  );
}
