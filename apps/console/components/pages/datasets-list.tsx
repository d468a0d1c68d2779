'use client';

import { DatabaseIcon, UploadIcon } from 'lucide-react';
import { ResourceTable } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate, formatNumber } from '@/lib/utils';

type TDataset = {
  id: string;
  name: string;
  description?: string | null;
  updatedAt?: string;
  createdAt?: string;
  format?: string | null;
  versionCount?: number;
  _count?: { versions?: number };
  latestVersion?: { format?: string | null; rowCount?: number | null } | null;
};

/** Upload arrives with the datasets issue; until then the call to action is visible but marked as coming. */
export function UploadDatasetButton() {
  const t = useT();
  return (
    <Button disabled title={t('common.comingSoon')}>
      <UploadIcon aria-hidden />
      {t('datasets.upload')}
      <Badge variant="secondary" className="ml-1">
        {t('common.comingSoon')}
      </Badge>
    </Button>
  );
}

export function DatasetsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TDataset>(apiPaths.datasets(workspace.slug));
  return (
    <ResourceTable
      label={t('datasets.title')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('datasets.colName'),
          cell: (d) => (
            <div>
              <p className="font-medium">{d.name}</p>
              {d.description ? <p className="text-xs text-muted-foreground">{d.description}</p> : null}
            </div>
          ),
        },
        {
          header: t('datasets.colFormat'),
          cell: (d) => <Badge variant="outline">{d.latestVersion?.format ?? d.format ?? '—'}</Badge>,
        },
        { header: t('datasets.colVersions'), cell: (d) => formatNumber(d.versionCount ?? d._count?.versions, locale) },
        { header: t('datasets.colRows'), cell: (d) => formatNumber(d.latestVersion?.rowCount, locale) },
        { header: t('datasets.colUpdated'), cell: (d) => formatDate(d.updatedAt ?? d.createdAt, locale) },
      ]}
      empty={
        <EmptyState
          icon={DatabaseIcon}
          title={t('datasets.emptyTitle')}
          description={t('datasets.emptyDescription')}
          action={<UploadDatasetButton />}
        />
      }
    />
  );
}
