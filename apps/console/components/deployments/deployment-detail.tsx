'use client';

import { MessagesSquareIcon, RotateCwIcon, SquareIcon, Trash2Icon } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { CopyField } from '@/components/copy-field';
import { DeploymentStatusBadge } from '@/components/status-badge';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api, failureText, type TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatDate, formatNumber } from '@/lib/utils';
import { formatDuration } from '../fine-tuning/format';
import {
  deploymentPaths,
  errorText,
  formatMs,
  isMoving,
  type TDeployment,
  type TMetricBucket,
  type TReplicaStatus,
  uptimeSeconds,
} from './api';
import { DeploymentCharts } from './charts';
import { PollFallback } from './poll-fallback';
import { RequestLogging } from './request-logging';
import { useNow, usePoll } from './use-poll';

const RANGES = { '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
type TRange = keyof typeof RANGES;

/** `/w/[slug]/deployments/[id]`: status, endpoint, stop / restart / delete, and traffic charts. */
export function DeploymentDetail({ id, apiBase }: { id: string; apiBase: string }) {
  const t = useT();
  const { workspace } = useWorkspace();
  // A stop is not a status of its own: poll fast for a while after any action, so its effect shows promptly.
  const actedAt = React.useRef(0);
  const { state, reload } = usePoll<TDeployment>(deploymentPaths.one(workspace.slug, id), (d) =>
    isMoving(d.status) || Date.now() - actedAt.current < 30_000 ? 1500 : 15_000,
  );
  const onChanged = React.useCallback(() => {
    actedAt.current = Date.now();
    reload();
  }, [reload]);
  if (state.status !== 'ready') {
    return (
      <PollFallback
        state={state}
        notFound={t('deployments.detail.notFound')}
        backHref={`/w/${workspace.slug}/deployments`}
        onRetry={reload}
      />
    );
  }
  const deployment = state.data;
  return (
    <div className="grid gap-6">
      <Header deployment={deployment} onChanged={onChanged} />
      {deployment.status === 'failed' && errorText(deployment.error) ? (
        <div role="alert" className="rounded-xl border border-destructive/40 bg-destructive/5 p-4 text-sm">
          <p className="font-medium text-destructive">{t('deployments.detail.failed')}</p>
          <p className="mt-1 font-mono text-xs whitespace-pre-wrap">{errorText(deployment.error)}</p>
        </div>
      ) : null}
      <Stats deployment={deployment} />
      <Replicas deployment={deployment} />
      <Endpoint deployment={deployment} apiBase={apiBase} />
      <RequestLogging deployment={deployment} onChanged={onChanged} />
      <Traffic deployment={deployment} />
    </div>
  );
}

function Header({ deployment, onChanged }: { deployment: TDeployment; onChanged: () => void }) {
  const t = useT();
  const toast = useToast();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const [confirm, setConfirm] = React.useState<'stop' | 'delete' | null>(null);
  const [restarting, setRestarting] = React.useState(false);
  const canManage = workspace.role !== 'viewer';
  const { status } = deployment;

  async function act(action: () => Promise<unknown>, done: string) {
    try {
      await action();
      toast({ title: done });
      onChanged();
    } catch (error) {
      toast({
        variant: 'error',
        title: t('errors.title'),
        description: failureText(error),
      });
    }
  }

  return (
    <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
      <div className="grid gap-1">
        <div className="flex items-center gap-3">
          <h2 className="text-xl font-semibold" data-testid="deployment-name">
            {deployment.name}
          </h2>
          <span data-testid="deployment-status" data-status={status}>
            <DeploymentStatusBadge status={status} />
          </span>
        </div>
        {deployment.model ? (
          <p className="text-sm text-muted-foreground">
            {t(`deployments.kind.${deployment.model.kind}`)} ·{' '}
            <span className="font-mono">{deployment.model.name}</span>
          </p>
        ) : null}
      </div>
      <div className="flex flex-wrap gap-2">
        {deployment.model ? (
          <Button asChild variant={status === 'running' ? 'default' : 'outline'}>
            <Link href={`/w/${workspace.slug}/playground?model=${encodeURIComponent(deployment.model.openaiId)}`}>
              <MessagesSquareIcon aria-hidden />
              {t('deployments.detail.openPlayground')}
            </Link>
          </Button>
        ) : null}
        {canManage && (status === 'running' || status === 'deploying') ? (
          <Button variant="outline" onClick={() => setConfirm('stop')}>
            <SquareIcon aria-hidden />
            {t('deployments.detail.stop')}
          </Button>
        ) : null}
        {canManage && (status === 'stopped' || status === 'failed' || status === 'running') ? (
          <Button
            variant="outline"
            loading={restarting}
            onClick={async () => {
              setRestarting(true);
              await act(
                () => api(deploymentPaths.restart(workspace.slug, deployment.id), { method: 'POST' }),
                t('deployments.detail.restarted'),
              );
              setRestarting(false);
            }}
          >
            <RotateCwIcon aria-hidden />
            {t('deployments.detail.restart')}
          </Button>
        ) : null}
        {canManage && (status === 'stopped' || status === 'failed') ? (
          <Button variant="outline" onClick={() => setConfirm('delete')}>
            <Trash2Icon aria-hidden />
            {t('common.delete')}
          </Button>
        ) : null}
      </div>
      <ConfirmDialog
        open={confirm === 'stop'}
        onOpenChange={(open) => setConfirm(open ? 'stop' : null)}
        title={t('deployments.detail.stopTitle', { name: deployment.name })}
        description={t('deployments.detail.stopDescription')}
        confirmLabel={t('deployments.detail.stop')}
        onConfirm={() =>
          act(
            () => api(deploymentPaths.stop(workspace.slug, deployment.id), { method: 'POST' }),
            t('deployments.detail.stopped'),
          )
        }
      />
      <ConfirmDialog
        open={confirm === 'delete'}
        onOpenChange={(open) => setConfirm(open ? 'delete' : null)}
        title={t('deployments.detail.deleteTitle', { name: deployment.name })}
        description={t('deployments.detail.deleteDescription')}
        confirmLabel={t('common.delete')}
        onConfirm={async () => {
          try {
            await api(deploymentPaths.one(workspace.slug, deployment.id), { method: 'DELETE' });
            toast({ title: t('deployments.detail.deleted') });
            router.push(`/w/${workspace.slug}/deployments`);
          } catch (error) {
            toast({
              variant: 'error',
              title: t('errors.title'),
              description: failureText(error),
            });
          }
        }}
      />
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="rounded-xl border bg-card p-4 shadow-xs">
      <p className="text-xs text-muted-foreground">{label}</p>
      <p className="mt-1 text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </p>
    </div>
  );
}

function Stats({ deployment }: { deployment: TDeployment }) {
  const t = useT();
  const locale = useLocale();
  const now = useNow(1000);
  const s = deployment.stats;
  return (
    <div className="grid grid-cols-2 gap-4 md:grid-cols-3 xl:grid-cols-6">
      <Stat label={t('deployments.colUptime')} value={formatDuration(uptimeSeconds(deployment, now), locale)} />
      <Stat
        label={t('deployments.colRequests')}
        value={formatNumber(s?.requests ?? 0, locale)}
        testId="stat-requests"
      />
      <Stat label={t('deployments.detail.promptTokens')} value={formatNumber(s?.promptTokens ?? 0, locale)} />
      <Stat label={t('deployments.detail.completionTokens')} value={formatNumber(s?.completionTokens ?? 0, locale)} />
      <Stat
        label={t('deployments.colLatency')}
        value={`${formatMs(s?.p50Ms, locale)} / ${formatMs(s?.p95Ms, locale)}`}
      />
      <Stat
        label={t('deployments.detail.shape')}
        value={t('deployments.detail.shapeValue', {
          replicas: formatNumber(deployment.replicas, locale),
          context: formatNumber(deployment.contextSize, locale),
        })}
      />
    </div>
  );
}

const REPLICA_BADGE: Record<TReplicaStatus, 'success' | 'warning' | 'destructive' | 'secondary'> = {
  ready: 'success',
  unhealthy: 'warning',
  failed: 'destructive',
  pending: 'secondary',
  loading: 'secondary',
};

/** Where each replica runs and how its last health check went (issue 6: replicas, health-checked). */
function Replicas({ deployment }: { deployment: TDeployment }) {
  const t = useT();
  const locale = useLocale();
  const list = deployment.replicaList ?? [];
  if (!list.length) return null;
  return (
    <Card>
      <CardHeader className="pb-3">
        <CardTitle className="text-sm" data-testid="replicas-ready">
          {t('deployments.detail.replicasReady', {
            ready: formatNumber(deployment.readyReplicas ?? 0, locale),
            total: formatNumber(deployment.replicas, locale),
          })}
        </CardTitle>
      </CardHeader>
      <CardContent>
        <Table aria-label={t('deployments.detail.replicas')}>
          <TableHeader>
            <TableRow>
              <TableHead>{t('deployments.detail.replica')}</TableHead>
              <TableHead>{t('deployments.detail.worker')}</TableHead>
              <TableHead>{t('common.status')}</TableHead>
              <TableHead>{t('deployments.detail.lastHealth')}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {list.map((r) => (
              <TableRow key={r.index} data-testid={`replica-${r.index}`} data-status={r.status}>
                <TableCell className="tabular-nums">{r.index + 1}</TableCell>
                <TableCell className="font-mono text-xs">{r.workerId ?? '—'}</TableCell>
                <TableCell className="whitespace-normal">
                  <Badge variant={REPLICA_BADGE[r.status]}>{t(`deployments.replicaStatus.${r.status}`)}</Badge>
                  {r.error?.message && r.status !== 'ready' ? (
                    <p className="mt-1 max-w-md text-xs text-muted-foreground">{r.error.message}</p>
                  ) : null}
                </TableCell>
                <TableCell className="text-xs text-muted-foreground">
                  {r.lastHealthAt ? formatDate(r.lastHealthAt, locale) : '—'}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

function Endpoint({ deployment, apiBase }: { deployment: TDeployment; apiBase: string }) {
  const t = useT();
  const locale = useLocale();
  return (
    <Card>
      <CardHeader className="pb-3">
        <CardTitle className="text-sm">{t('deployments.detail.endpoint')}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3 sm:grid-cols-2">
        <div className="grid gap-1.5">
          <p className="text-xs text-muted-foreground">{t('deployments.detail.baseUrl')}</p>
          <CopyField value={apiBase} label={t('deployments.detail.baseUrl')} />
        </div>
        <div className="grid gap-1.5">
          <p className="text-xs text-muted-foreground">{t('deployments.detail.modelId')}</p>
          <CopyField value={deployment.model?.openaiId ?? '—'} label={t('deployments.detail.modelId')} />
        </div>
        <p className="text-xs text-muted-foreground sm:col-span-2">
          {t('deployments.detail.created', { date: formatDate(deployment.createdAt, locale) })}
        </p>
      </CardContent>
    </Card>
  );
}

function Traffic({ deployment }: { deployment: TDeployment }) {
  const t = useT();
  const { workspace } = useWorkspace();
  const [range, setRange] = React.useState<TRange>('1h');
  const [buckets, setBuckets] = React.useState<TMetricBucket[] | null>(null);
  const [failed, setFailed] = React.useState(false);
  const requests = deployment.stats?.requests ?? 0;
  React.useEffect(() => {
    let live = true;
    const to = new Date();
    const from = new Date(to.getTime() - RANGES[range]);
    // `requests` is read so new traffic (seen by the deployment poll) refreshes the charts.
    void requests;
    api<TList<TMetricBucket>>(deploymentPaths.metrics(workspace.slug, deployment.id, from, to))
      .then((body) => {
        if (!live) return;
        setBuckets(body.data ?? []);
        setFailed(false);
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [workspace.slug, deployment.id, range, requests]);
  return (
    <section className="grid gap-3" aria-label={t('deployments.detail.traffic')}>
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-base font-semibold">{t('deployments.detail.traffic')}</h3>
        <Select value={range} onValueChange={(v) => setRange(v as TRange)}>
          <SelectTrigger size="sm" className="w-40" aria-label={t('deployments.detail.range')}>
            <SelectValue />
          </SelectTrigger>
          <SelectContent>
            {(Object.keys(RANGES) as TRange[]).map((r) => (
              <SelectItem key={r} value={r}>
                {t(`deployments.detail.ranges.${r}`)}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      {failed && !buckets ? (
        <p className="text-sm text-destructive" role="alert">
          {t('deployments.detail.metricsError')}
        </p>
      ) : buckets === null ? (
        <Skeleton className="h-56" />
      ) : (
        <DeploymentCharts buckets={buckets} />
      )}
    </section>
  );
}
