'use client';

import { DatabaseIcon, UploadIcon } from 'lucide-react';
import Link from 'next/link';
import { ResourceTable } from '@/components/resource-table';
import { RoleGate } from '@/components/role-gate';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { GettingStarted } from '@/components/workspace/getting-started';
import { useWorkspace } from '@/components/workspace-context';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate, formatNumber } from '@/lib/utils';
import { datasetPages, datasetPaths } from './api';

type TListed = {
  id: string;
  name: string;
  description?: string | null;
  createdAt: string;
  versionCount: number;
  latestVersion: { number: number; status: string; format: string; rowCount: number; createdAt: string } | null;
};

export function UploadLink() {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <RoleGate action="upload">
      <Button asChild>
        <Link href={datasetPages.upload(workspace.slug)}>
          <UploadIcon aria-hidden />
          {t('datasets.upload')}
        </Link>
      </Button>
    </RoleGate>
  );
}

export function DatasetsTable() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TListed>(datasetPaths.list(workspace.slug));
  return (
    <ResourceTable
      label={t('datasets.title')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('datasets.colName'),
          cell: (d) => (
            // A 128-character name (one word, no spaces) pushed the table off screen: cut it with an ellipsis and
            // keep the whole name in the tooltip.
            <div className="max-w-[14rem] sm:max-w-xs lg:max-w-md">
              <Link
                className="block truncate font-medium hover:underline"
                href={datasetPages.detail(workspace.slug, d.id)}
                title={d.name}
                data-testid="dataset-name-cell"
              >
                {d.name}
              </Link>
              {d.description ? (
                <p className="line-clamp-2 text-xs break-words text-muted-foreground" title={d.description}>
                  {d.description}
                </p>
              ) : null}
            </div>
          ),
        },
        {
          header: t('datasets.colFormat'),
          cell: (d) => <Badge variant="outline">{d.latestVersion?.format ?? '—'}</Badge>,
        },
        {
          header: t('datasets.colStatus'),
          cell: (d) =>
            d.latestVersion ? (
              <Badge variant={d.latestVersion.status === 'published' ? 'default' : 'secondary'}>
                {d.latestVersion.status === 'published' ? t('datasets.published') : t('datasets.draft')}
              </Badge>
            ) : (
              '—'
            ),
        },
        { header: t('datasets.colVersions'), cell: (d) => formatNumber(d.versionCount, locale) },
        { header: t('datasets.colRows'), cell: (d) => formatNumber(d.latestVersion?.rowCount, locale) },
        {
          header: t('datasets.colUpdated'),
          cell: (d) => formatDate(d.latestVersion?.createdAt ?? d.createdAt, locale),
        },
      ]}
      empty={
        // An empty workspace is a newcomer's: the first-run path first, the plain upload below it.
        <div className="grid gap-6">
          <GettingStarted compact />
          <EmptyState
            icon={DatabaseIcon}
            title={t('datasets.emptyTitle')}
            description={t('datasets.emptyDescription')}
            action={<UploadLink />}
          />
        </div>
      }
    />
  );
}
