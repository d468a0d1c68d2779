'use client';

import { FlaskConicalIcon, PlusIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { ResourceTable } from '@/components/resource-table';
import { RoleGate } from '@/components/role-gate';
import { JobStatusBadge } from '@/components/status-badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate } from '@/lib/utils';
import { formatMoney } from './format';
import { jobPercentage } from './live-progress';
import { ProgressBar } from './progress-bar';
import { ftPaths, isActive, type TJob } from './types';

/** How often the list refreshes while a job is still moving (the job page itself streams). */
const POLL_MS = 5000;

export function NewJobButton() {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <RoleGate action="train">
      <Button asChild>
        <Link href={`/w/${workspace.slug}/fine-tuning/new`}>
          <PlusIcon aria-hidden />
          {t('fineTuning.create')}
        </Link>
      </Button>
    </RoleGate>
  );
}

export function datasetLabel(v: TJob['datasetVersion']): string {
  if (!v) return '—';
  return `${v.datasetName ?? v.datasetId} · v${v.number}`;
}

export function JobsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TJob>(ftPaths.jobs(workspace.slug));
  const moving = state.status === 'ready' && state.items.some((j) => isActive(j.status));
  React.useEffect(() => {
    if (!moving) return;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [moving, reload]);
  return (
    <ResourceTable
      label={t('fineTuning.title')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('fineTuning.colJob'),
          cell: (j) => (
            <Link
              href={`/w/${workspace.slug}/fine-tuning/${j.id}`}
              className="font-medium text-primary underline-offset-4 hover:underline"
            >
              {j.suffix ? `${j.suffix} · ` : ''}
              <span className="font-mono text-xs">{j.id}</span>
            </Link>
          ),
        },
        { header: t('fineTuning.colStatus'), cell: (j) => <JobStatusBadge status={j.status} /> },
        { header: t('fineTuning.colBaseModel'), cell: (j) => j.baseModel?.name ?? '—' },
        {
          header: t('fineTuning.colDataset'),
          cell: (j) => (
            <span className="block max-w-[14rem] truncate" title={datasetLabel(j.datasetVersion)}>
              {datasetLabel(j.datasetVersion)}
            </span>
          ),
        },
        {
          header: t('fineTuning.colProgress'),
          className: 'w-40',
          cell: (j) => {
            const pct = jobPercentage(j.progress);
            const done = j.status === 'succeeded' ? 100 : pct;
            return (
              <div className="flex items-center gap-2">
                <ProgressBar value={done} label={t('fineTuning.colProgress')} className="w-24" />
                <span className="text-xs tabular-nums text-muted-foreground">
                  {done === null ? '—' : `${Math.round(done)}%`}
                </span>
              </div>
            );
          },
        },
        { header: t('fineTuning.colCost'), cell: (j) => formatMoney(j.cost, locale) },
        { header: t('fineTuning.colCreatedBy'), cell: (j) => j.createdBy?.name ?? j.createdBy?.email ?? '—' },
        { header: t('fineTuning.colCreated'), cell: (j) => formatDate(j.createdAt, locale) },
      ]}
      empty={
        <EmptyState
          icon={FlaskConicalIcon}
          title={t('fineTuning.emptyTitle')}
          description={t('fineTuning.emptyDescription')}
          action={<NewJobButton />}
        />
      }
    />
  );
}
