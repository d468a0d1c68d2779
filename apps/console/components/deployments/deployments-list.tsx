'use client';

import { BoxesIcon, RocketIcon } from 'lucide-react';
import Link from 'next/link';
import { ResourceTable } from '@/components/resource-table';
import { DeploymentStatusBadge } from '@/components/status-badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import type { TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import type { TListState } from '@/lib/use-list';
import { formatNumber } from '@/lib/utils';
import { formatCompact, formatDuration } from '../fine-tuning/format';
import { deploymentPaths, formatMs, isMoving, type TDeployment, uptimeSeconds } from './api';
import { DeployButton } from './deploy-button';
import { useNow, usePoll } from './use-poll';

/** `/w/[slug]/deployments`: every deployment with its status, model, uptime, traffic and latency. */
export function DeploymentsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const now = useNow(5000);
  // Poll fast while something is deploying (the status flips within seconds), slowly otherwise for the stats.
  const { state, reload } = usePoll<TList<TDeployment>>(deploymentPaths.list(workspace.slug), (body) =>
    (body.data ?? []).some((d) => isMoving(d.status)) ? 2000 : 15_000,
  );
  const listState: TListState<TDeployment> =
    state.status === 'ready' ? { status: 'ready', items: state.data.data ?? [] } : state;
  const hasItems = listState.status === 'ready' && listState.items.length > 0;
  return (
    <div className="grid gap-4">
      {hasItems ? (
        <div className="flex justify-end">
          <DeployButton label={t('deployments.create')} explain />
        </div>
      ) : null}
      <ResourceTable
        label={t('deployments.title')}
        state={listState}
        onRetry={reload}
        columns={[
          {
            header: t('deployments.colName'),
            cell: (d) => (
              <Link
                href={`/w/${workspace.slug}/deployments/${d.id}`}
                className="font-medium underline-offset-4 hover:underline"
              >
                {d.name}
              </Link>
            ),
          },
          {
            header: t('deployments.colModel'),
            cell: (d) => (
              <div className="grid">
                <span className="font-mono text-xs">{d.model?.name ?? '—'}</span>
                <span className="text-xs text-muted-foreground">
                  {d.model ? t(`deployments.kind.${d.model.kind}`) : null}
                </span>
              </div>
            ),
          },
          { header: t('deployments.colStatus'), cell: (d) => <DeploymentStatusBadge status={d.status} /> },
          {
            header: t('deployments.colReplicas'),
            cell: (d) =>
              d.status === 'stopped'
                ? '—'
                : `${formatNumber(d.readyReplicas ?? 0, locale)} / ${formatNumber(d.replicas, locale)}`,
          },
          { header: t('deployments.colUptime'), cell: (d) => formatDuration(uptimeSeconds(d, now), locale) },
          {
            header: t('deployments.colRequests'),
            className: 'text-right tabular-nums',
            cell: (d) => formatCompact(d.stats?.requests ?? 0, locale),
          },
          {
            header: t('deployments.colTokens'),
            className: 'text-right tabular-nums',
            cell: (d) => formatCompact((d.stats?.promptTokens ?? 0) + (d.stats?.completionTokens ?? 0), locale),
          },
          {
            header: t('deployments.colLatency'),
            className: 'text-right tabular-nums',
            cell: (d) => `${formatMs(d.stats?.p50Ms, locale)} / ${formatMs(d.stats?.p95Ms, locale)}`,
          },
        ]}
        empty={
          <EmptyState
            icon={RocketIcon}
            title={t('deployments.emptyTitle')}
            description={t('deployments.emptyDescription')}
            action={
              <>
                <DeployButton label={t('deployments.create')} explain />
                <Button asChild variant="outline">
                  <Link href={`/w/${workspace.slug}/models`}>
                    <BoxesIcon aria-hidden />
                    {t('deployments.emptyAction')}
                  </Link>
                </Button>
              </>
            }
          />
        }
      />
    </div>
  );
}
