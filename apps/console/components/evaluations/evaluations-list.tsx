'use client';

import { PlusIcon, ScaleIcon } from 'lucide-react';
import Link from 'next/link';
import { usePoll } from '@/components/deployments/use-poll';
import { ProgressBar } from '@/components/fine-tuning/progress-bar';
import { ResourceTable } from '@/components/resource-table';
import { JobStatusBadge } from '@/components/status-badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import type { TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import type { TListState } from '@/lib/use-list';
import { formatNumber } from '@/lib/utils';
import { evaluationModelLabel, evaluationPaths, isOpen, type TEvaluation } from './api';

/** `/w/[slug]/evaluations`: every evaluation with its models, status and live progress. */
export function EvaluationsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = usePoll<TList<TEvaluation>>(evaluationPaths.list(workspace.slug), (body) =>
    (body.data ?? []).some((e) => isOpen(e.status)) ? 2000 : 30_000,
  );
  const listState: TListState<TEvaluation> =
    state.status === 'ready' ? { status: 'ready', items: state.data.data ?? [] } : state;
  const newButton = (
    <Button asChild>
      <Link href={`/w/${workspace.slug}/evaluations/new`}>
        <PlusIcon aria-hidden />
        {t('evaluations.create')}
      </Link>
    </Button>
  );
  return (
    <div className="grid gap-4">
      {listState.status === 'ready' && listState.items.length > 0 ? (
        <div className="flex justify-end">{newButton}</div>
      ) : null}
      <ResourceTable
        label={t('evaluations.title')}
        state={listState}
        onRetry={reload}
        columns={[
          {
            header: t('evaluations.colName'),
            cell: (e) => (
              <Link
                href={`/w/${workspace.slug}/evaluations/${e.id}`}
                className="font-medium underline-offset-4 hover:underline"
              >
                {e.name}
              </Link>
            ),
          },
          {
            header: t('evaluations.colModels'),
            cell: (e) => (
              <span className="font-mono text-xs">
                {e.models.map((m) => evaluationModelLabel(m, t, locale)).join(' · ')}
              </span>
            ),
          },
          { header: t('evaluations.colStatus'), cell: (e) => <JobStatusBadge status={e.status} /> },
          {
            header: t('evaluations.colProgress'),
            cell: (e) => (
              <div className="grid min-w-40 gap-1">
                <ProgressBar
                  value={e.progress.total ? (100 * e.progress.done) / e.progress.total : null}
                  label={t('evaluations.progressLabel')}
                />
                <span className="text-xs text-muted-foreground">
                  {t('evaluations.progress', {
                    done: formatNumber(e.progress.done, locale),
                    total: formatNumber(e.progress.total, locale),
                  })}
                </span>
              </div>
            ),
          },
          {
            header: t('evaluations.colCreated'),
            cell: (e) => new Date(e.createdAt).toLocaleString(locale),
          },
        ]}
        empty={
          <EmptyState
            icon={ScaleIcon}
            title={t('evaluations.emptyTitle')}
            description={t('evaluations.emptyDescription')}
            action={newButton}
          />
        }
      />
    </div>
  );
}
