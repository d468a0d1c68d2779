'use client';

import { BoxesIcon, RocketIcon } from 'lucide-react';
import Link from 'next/link';
import { ResourceTable } from '@/components/resource-table';
import { DeploymentStatusBadge } from '@/components/status-badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate } from '@/lib/utils';

type TDeployment = {
  id: string;
  name: string;
  status: string;
  createdAt?: string;
  fineTunedModel?: { name?: string } | null;
  baseModel?: { name?: string } | null;
};

export function DeploymentsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TDeployment>(apiPaths.deployments(workspace.slug));
  return (
    <ResourceTable
      label={t('deployments.title')}
      state={state}
      onRetry={reload}
      columns={[
        { header: t('deployments.colName'), cell: (d) => <span className="font-medium">{d.name}</span> },
        {
          header: t('deployments.colModel'),
          cell: (d) => <span className="font-mono text-xs">{d.fineTunedModel?.name ?? d.baseModel?.name ?? '—'}</span>,
        },
        { header: t('deployments.colStatus'), cell: (d) => <DeploymentStatusBadge status={d.status} /> },
        { header: t('deployments.colCreated'), cell: (d) => formatDate(d.createdAt, locale) },
      ]}
      empty={
        <EmptyState
          icon={RocketIcon}
          title={t('deployments.emptyTitle')}
          description={t('deployments.emptyDescription')}
          action={
            <Button asChild>
              <Link href={`/w/${workspace.slug}/models`}>
                <BoxesIcon aria-hidden />
                {t('deployments.emptyAction')}
              </Link>
            </Button>
          }
        />
      }
    />
  );
}
