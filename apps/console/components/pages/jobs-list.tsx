'use client';

import { FlaskConicalIcon, PlusIcon } from 'lucide-react';
import { ResourceTable } from '@/components/resource-table';
import { JobStatusBadge } from '@/components/status-badge';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate, formatNumber } from '@/lib/utils';

type TJob = {
  id: string;
  status: string;
  suffix?: string | null;
  trainedTokens?: number | string | null;
  createdAt?: string;
  baseModel?: { name?: string; displayName?: string | null } | null;
  baseModelId?: string;
};

export function NewJobButton() {
  const t = useT();
  return (
    <Button disabled title={t('common.comingSoon')}>
      <PlusIcon aria-hidden />
      {t('fineTuning.create')}
      <Badge variant="secondary" className="ml-1">
        {t('common.comingSoon')}
      </Badge>
    </Button>
  );
}

export function JobsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TJob>(apiPaths.fineTuningJobs(workspace.slug));
  return (
    <ResourceTable
      label={t('fineTuning.title')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('fineTuning.colJob'),
          cell: (j) => (
            <span className="font-mono text-xs">
              {j.suffix ? `${j.suffix} · ` : ''}
              {j.id}
            </span>
          ),
        },
        {
          header: t('fineTuning.colBaseModel'),
          cell: (j) => j.baseModel?.displayName ?? j.baseModel?.name ?? j.baseModelId ?? '—',
        },
        { header: t('fineTuning.colStatus'), cell: (j) => <JobStatusBadge status={j.status} /> },
        {
          header: t('fineTuning.colTokens'),
          cell: (j) => formatNumber(j.trainedTokens == null ? null : Number(j.trainedTokens), locale),
        },
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
