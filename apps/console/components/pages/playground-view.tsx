'use client';

import { FlaskConicalIcon, MessagesSquareIcon } from 'lucide-react';
import Link from 'next/link';
import { TableSkeleton } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import type { TModel } from './models-list';

/** Until a workspace has a model there is nothing to chat with: say so and point at fine-tuning. */
export function PlaygroundView() {
  const t = useT();
  const { workspace } = useWorkspace();
  const { state } = useList<TModel>(apiPaths.models(workspace.slug));
  if (state.status === 'loading') return <TableSkeleton columns={2} rows={2} label={t('common.loading')} />;
  if (state.status === 'error' || state.items.length === 0) {
    return (
      <EmptyState
        icon={MessagesSquareIcon}
        title={t('playground.emptyTitle')}
        description={t('playground.emptyDescription')}
        action={
          <Button asChild>
            <Link href={`/w/${workspace.slug}/fine-tuning`}>
              <FlaskConicalIcon aria-hidden />
              {t('playground.emptyAction')}
            </Link>
          </Button>
        }
      />
    );
  }
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      {state.items.map((model) => (
        <Card key={model.id}>
          <CardHeader>
            <CardTitle className="flex items-center justify-between gap-2">
              {model.displayName ?? model.name}
              <Badge variant="secondary">{t('common.comingSoon')}</Badge>
            </CardTitle>
            <CardDescription className="font-mono text-xs">{model.name}</CardDescription>
          </CardHeader>
        </Card>
      ))}
    </div>
  );
}
