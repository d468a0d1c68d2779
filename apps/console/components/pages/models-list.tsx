'use client';

import { BoxesIcon, FlaskConicalIcon } from 'lucide-react';
import Link from 'next/link';
import { ResourceTable } from '@/components/resource-table';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate } from '@/lib/utils';

export type TModel = {
  id: string;
  name: string;
  displayName?: string | null;
  createdAt?: string;
  baseModel?: { name?: string; displayName?: string | null } | null;
  baseModelId?: string;
};

export function ModelsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TModel>(apiPaths.models(workspace.slug));
  return (
    <ResourceTable
      label={t('models.title')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('models.colName'),
          cell: (m) => (
            <div>
              <p className="font-medium">{m.displayName ?? m.name}</p>
              <p className="font-mono text-xs text-muted-foreground">{m.name}</p>
            </div>
          ),
        },
        {
          header: t('models.colBase'),
          cell: (m) => m.baseModel?.displayName ?? m.baseModel?.name ?? m.baseModelId ?? '—',
        },
        { header: t('models.colCreated'), cell: (m) => formatDate(m.createdAt, locale) },
      ]}
      empty={
        <EmptyState
          icon={BoxesIcon}
          title={t('models.emptyTitle')}
          description={t('models.emptyDescription')}
          action={
            <Button asChild>
              <Link href={`/w/${workspace.slug}/fine-tuning`}>
                <FlaskConicalIcon aria-hidden />
                {t('models.emptyAction')}
              </Link>
            </Button>
          }
        />
      }
    />
  );
}
