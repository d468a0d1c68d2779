'use client';

import { FINE_TUNING_METHODS, type TFineTuningMethod } from '@crucible/jobs/fine-tuning';
import { AlertTriangleIcon, BoxIcon, CopyPlusIcon, RadioIcon, SquareIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { DeployButton } from '@/components/deployments/deploy-button';
import { JobStatusBadge } from '@/components/status-badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { Skeleton } from '@/components/ui/skeleton';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { hyperparameterLabel, hyperparameterValue } from '@/lib/i18n/domain';
import { formatDate, formatNumber } from '@/lib/utils';
import { JobCharts } from './charts';
import { formatDuration, formatHyperparameter, formatMetric, formatMoney } from './format';
import { CheckpointsTable, ErrorPanel, EventsLog, SettingsList } from './job-panels';
import { datasetLabel } from './jobs-list';
import { costKind, liveProgress } from './live-progress';
import { ProgressBar } from './progress-bar';
import { ftPaths, isActive, type TJob, type TMetric } from './types';
import { useJobStream } from './use-job-stream';

/** `/w/[slug]/fine-tuning/[jobId]`: status, live charts (SSE), log, checkpoints, settings, cancel, clone. */
export function JobDetail({ jobId }: { jobId: string }) {
  const t = useT();
  const { workspace } = useWorkspace();
  const { view, retry, refetch } = useJobStream(workspace.slug, jobId);
  if (view.error && !view.job) {
    const missing = view.error.status === 404;
    return (
      <EmptyState
        icon={AlertTriangleIcon}
        title={missing ? t('fineTuning.detail.notFound') : t('errors.title')}
        description={view.error.code === 'network' ? t('errors.network') : view.error.message}
        action={
          missing ? (
            <Button asChild variant="outline">
              <Link href={`/w/${workspace.slug}/fine-tuning`}>{t('common.back')}</Link>
            </Button>
          ) : (
            <Button variant="outline" onClick={retry}>
              {t('common.retry')}
            </Button>
          )
        }
      />
    );
  }
  const job = view.job;
  if (!job) {
    return (
      <div role="status" aria-label={t('common.loading')} className="grid gap-4">
        <Skeleton className="h-16" />
        <Skeleton className="h-28" />
        <Skeleton className="h-64" />
      </div>
    );
  }
  return (
    <div className="grid gap-6">
      <Header job={job} connection={view.connection} onChanged={refetch} />
      {job.error ? <ErrorPanel error={job.error} /> : null}
      {job.status === 'succeeded' && job.fineTunedModel ? <ModelReady model={job.fineTunedModel} /> : null}
      <ProgressCard job={job} metrics={view.metrics} />
      <JobCharts metrics={view.metrics} />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_360px]">
        <div className="grid content-start gap-6">
          <EventsLog events={view.events} />
          <CheckpointsTable checkpoints={view.checkpoints} />
        </div>
        <div className="grid content-start gap-6">
          <Lineage job={job} />
          <SettingsList
            title={t('fineTuning.detail.hyperparameters')}
            values={Object.fromEntries(
              Object.entries(job.hyperparameters ?? {}).sort(([a], [b]) => a.localeCompare(b)),
            )}
            labelOf={(key) => hyperparameterLabel(t, key)}
            formatValue={(value, key) => hyperparameterValue(t, value, formatHyperparameter, key)}
          />
        </div>
      </div>
    </div>
  );
}

function Header({ job, connection, onChanged }: { job: TJob; connection: string; onChanged: () => Promise<void> }) {
  const t = useT();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const [confirming, setConfirming] = React.useState(false);
  const canWrite = workspace.role !== 'viewer';
  const cancel = async () => {
    try {
      await api(ftPaths.cancel(workspace.slug, job.id), { method: 'POST' });
      toast({ title: t('fineTuning.detail.cancelRequested'), variant: 'success' });
      await onChanged();
    } catch (error) {
      toast({
        title: t('fineTuning.detail.cancelFailed'),
        description: error instanceof ApiError ? error.message : undefined,
        variant: 'error',
      });
    }
  };
  return (
    <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
      <div className="flex flex-wrap items-center gap-3">
        <JobStatusBadge status={job.status} />
        <span className="font-mono text-xs text-muted-foreground">{job.id}</span>
        {connection === 'live' ? (
          <span className="flex items-center gap-1 text-xs text-success">
            <RadioIcon className="size-3.5 animate-pulse" aria-hidden />
            {t('fineTuning.detail.live')}
          </span>
        ) : null}
      </div>
      {canWrite ? (
        <div className="flex gap-2">
          <Button asChild variant="outline">
            <Link href={`/w/${workspace.slug}/fine-tuning/new?from=${encodeURIComponent(job.id)}`}>
              <CopyPlusIcon aria-hidden />
              {t('fineTuning.detail.clone')}
            </Link>
          </Button>
          {isActive(job.status) ? (
            <Button variant="destructive" onClick={() => setConfirming(true)}>
              <SquareIcon aria-hidden />
              {t('fineTuning.detail.cancel')}
            </Button>
          ) : null}
        </div>
      ) : null}
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={t('fineTuning.detail.cancelTitle')}
        description={t('fineTuning.detail.cancelDescription')}
        confirmLabel={t('fineTuning.detail.cancelConfirm')}
        dismissLabel={t('jobProgress.keepRunning')}
        onConfirm={cancel}
      />
    </div>
  );
}

function ProgressCard({ job, metrics }: { job: TJob; metrics: TMetric[] }) {
  const t = useT();
  const locale = useLocale();
  const last = metrics.at(-1);
  const { step, totalSteps: total, epoch, percentage: pct } = liveProgress(job, last);
  const kind = costKind(job);
  const stats: Array<[string, string]> = [
    [
      t('fineTuning.detail.step'),
      total ? `${formatNumber(step, locale)} / ${formatNumber(total, locale)}` : formatNumber(step, locale),
    ],
    [t('fineTuning.detail.epoch'), epoch === null ? '—' : formatMetric(epoch)],
    [t('fineTuning.detail.latestLoss'), formatMetric(last?.loss ?? null)],
    [t('fineTuning.detail.eta'), isActive(job.status) ? formatDuration(job.progress?.etaSeconds, locale) : '—'],
    [t('fineTuning.colTokens'), formatNumber(job.trainedTokens == null ? null : Number(job.trainedTokens), locale)],
    [kind ? t(`jobProgress.cost.${kind}`) : t('fineTuning.colCost'), formatMoney(job.cost, locale)],
  ];
  return (
    <Card>
      <CardContent className="grid gap-4 pt-6">
        <div className="flex items-center gap-3">
          <ProgressBar value={pct} label={t('fineTuning.colProgress')} />
          <span className="w-12 text-right text-sm font-medium tabular-nums" data-testid="progress-percent">
            {pct === null ? '—' : `${Math.round(pct)}%`}
          </span>
        </div>
        <dl className="grid grid-cols-2 gap-4 text-sm sm:grid-cols-3 lg:grid-cols-6">
          {stats.map(([label, value]) => (
            <div key={label}>
              <dt className="text-xs text-muted-foreground">{label}</dt>
              <dd className="font-medium tabular-nums">{value}</dd>
            </div>
          ))}
        </dl>
      </CardContent>
    </Card>
  );
}

function ModelReady({ model }: { model: { id: string; name: string } }) {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <div className="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-success/30 bg-success/5 p-4 text-sm">
      <p className="flex items-center gap-2">
        <BoxIcon className="size-4 text-success" aria-hidden />
        {t('fineTuning.detail.modelReady')}
        <span className="font-mono text-xs">{model.name}</span>
      </p>
      <div className="flex gap-2">
        <Button asChild size="sm" variant="outline">
          <Link href={`/w/${workspace.slug}/models#${encodeURIComponent(model.id)}`}>
            {t('fineTuning.detail.viewModel')}
          </Link>
        </Button>
        <DeployButton size="sm" model={{ id: model.id, kind: 'fine_tuned', name: model.name }} />
      </div>
    </div>
  );
}

/** The method's label key (a row from before the preference methods says sft_lora). */
const methodKey = (method: string): TFineTuningMethod =>
  (FINE_TUNING_METHODS as readonly string[]).includes(method) ? (method as TFineTuningMethod) : 'sft_lora';

function Lineage({ job }: { job: TJob }) {
  const t = useT();
  const locale = useLocale();
  return (
    <SettingsList
      title={t('fineTuning.detail.details')}
      values={{
        [t('fineTuning.detail.method')]: job.method ? t(`fineTuning.method.${methodKey(job.method)}`) : null,
        [t('fineTuning.colBaseModel')]: job.baseModel?.name,
        [t('fineTuning.detail.fromModel')]: job.fromModel?.name ?? null,
        [t('fineTuning.colDataset')]: datasetLabel(job.datasetVersion),
        [t('fineTuning.colCreatedBy')]: job.createdBy?.name ?? job.createdBy?.email,
        [t('fineTuning.colCreated')]: formatDate(job.createdAt, locale),
        [t('fineTuning.detail.startedAt')]: formatDate(job.startedAt, locale),
        [t('fineTuning.detail.finishedAt')]: formatDate(job.finishedAt, locale),
        [t('fineTuning.detail.worker')]: job.workerId,
      }}
    />
  );
}
