'use client';

import { AlertTriangleIcon, DatabaseIcon, ScrollTextIcon } from 'lucide-react';
import * as React from 'react';
import { Pager } from '@/components/datasets/pager';
import { TableSkeleton } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { Input } from '@/components/ui/input';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { type ApiError, api, type TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatDate, formatNumber } from '@/lib/utils';
import { formatMs } from '../deployments/api';
import { usePoll } from '../deployments/use-poll';
import { AddLogsToDatasetDialog } from './add-to-dataset';
import { logPaths, type TLogPage, type TLogSummary, type TRating } from './api';
import { LogDetailDialog } from './log-detail';
import { Thumbs } from './thumbs';

const PAGE = 25;
const TIME_RANGES = {
  any: 0,
  '1h': 3600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
} as const;
type TTimeRange = keyof typeof TIME_RANGES;
const FINISH = ['any', 'stop', 'length', 'none'] as const;
const RATINGS = ['any', 'up', 'down', 'none'] as const;

type TFilters = {
  q: string;
  model: string;
  deploymentId: string;
  time: TTimeRange;
  minLatencyMs: string;
  maxLatencyMs: string;
  finishReason: (typeof FINISH)[number];
  rating: (typeof RATINGS)[number];
};

const NO_FILTERS: TFilters = {
  q: '',
  model: '',
  deploymentId: '',
  time: 'any',
  minLatencyMs: '',
  maxLatencyMs: '',
  finishReason: 'any',
  rating: 'any',
};

function queryOf(f: TFilters, offset: number): URLSearchParams {
  const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
  if (f.q.trim()) q.set('q', f.q.trim());
  if (f.model) q.set('model', f.model);
  if (f.deploymentId) q.set('deploymentId', f.deploymentId);
  if (f.time !== 'any') q.set('from', new Date(Date.now() - TIME_RANGES[f.time]).toISOString());
  if (/^\d+$/.test(f.minLatencyMs)) q.set('minLatencyMs', f.minLatencyMs);
  if (/^\d+$/.test(f.maxLatencyMs)) q.set('maxLatencyMs', f.maxLatencyMs);
  if (f.finishReason !== 'any') q.set('finishReason', f.finishReason);
  if (f.rating !== 'any') q.set('rating', f.rating);
  return q;
}

/** One filter of the Logs page: a labelled native select. */
function FilterSelect({
  label,
  value,
  onChange,
  options,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
}) {
  return (
    <select
      aria-label={label}
      className="h-9 rounded-md border border-input bg-card px-2 text-sm shadow-xs"
      value={value}
      onChange={(e) => onChange(e.target.value)}
    >
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

/** `/w/[slug]/logs`: the workspace's kept chat requests — search, filters, pages, detail, thumbs, add to dataset. */
export function LogsPage({ initialDeploymentId }: { initialDeploymentId?: string }) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const initial = { ...NO_FILTERS, deploymentId: initialDeploymentId ?? '' };
  const [filters, setFilters] = React.useState<TFilters>(initial);
  // Sent once typing pauses (the search box); the other filters change it at once too, a moment later.
  const [applied, setApplied] = React.useState<TFilters>(initial);
  const [offset, setOffset] = React.useState(0);
  const [selected, setSelected] = React.useState<Map<string, TLogSummary>>(new Map());
  const [openId, setOpenId] = React.useState<string | null>(null);
  const [adding, setAdding] = React.useState(false);
  const canEdit = workspace.role !== 'viewer';

  React.useEffect(() => {
    const timer = setTimeout(() => {
      setApplied(filters);
      setOffset(0);
    }, 300);
    return () => clearTimeout(timer);
  }, [filters]);

  const path = logPaths.list(workspace.slug, queryOf(applied, offset));
  const { state, reload } = usePoll<TLogPage>(path, () => null);
  const deployments = usePoll<TList<{ id: string; name: string }>>(logPaths.deployments(workspace.slug), () => null);
  const deploymentList = deployments.state.status === 'ready' ? deployments.state.data.data : [];

  const set = <K extends keyof TFilters>(key: K, value: TFilters[K]) => setFilters((f) => ({ ...f, [key]: value }));

  async function rate(log: TLogSummary, rating: TRating | null) {
    try {
      await api(logPaths.rating(workspace.slug, log.id), { method: 'PUT', body: { rating } });
      toast({ title: t('logs.rated') });
      reload();
    } catch (error) {
      toast({ variant: 'error', title: t('errors.title'), description: (error as ApiError).message });
    }
  }

  const toggle = (log: TLogSummary) =>
    setSelected((current) => {
      const next = new Map(current);
      if (next.has(log.id)) next.delete(log.id);
      else next.set(log.id, log);
      return next;
    });

  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const page = state.status === 'ready' ? state.data : null;
  const models = page?.models ?? [];

  return (
    <div className="grid gap-4">
      <div className="grid gap-2 rounded-xl border bg-card p-3 shadow-xs" data-testid="log-filters">
        <div className="flex flex-wrap items-center gap-2">
          <Input
            type="search"
            aria-label={t('logs.search')}
            placeholder={t('logs.searchPlaceholder')}
            className="max-w-xs"
            value={filters.q}
            onChange={(e) => set('q', e.target.value)}
          />
          <FilterSelect
            label={t('logs.model')}
            value={filters.model}
            onChange={(v) => set('model', v)}
            options={[{ value: '', label: t('logs.anyModel') }, ...models.map((m) => ({ value: m, label: m }))]}
          />
          <FilterSelect
            label={t('logs.deployment')}
            value={filters.deploymentId}
            onChange={(v) => set('deploymentId', v)}
            options={[
              { value: '', label: t('logs.anyDeployment') },
              ...deploymentList.map((d) => ({ value: d.id, label: d.name })),
            ]}
          />
          <FilterSelect
            label={t('logs.time')}
            value={filters.time}
            onChange={(v) => set('time', v as TTimeRange)}
            options={(Object.keys(TIME_RANGES) as TTimeRange[]).map((k) => ({
              value: k,
              label: t(`logs.timeRange.${k}`),
            }))}
          />
          <FilterSelect
            label={t('logs.finish')}
            value={filters.finishReason}
            onChange={(v) => set('finishReason', v as TFilters['finishReason'])}
            options={FINISH.map((k) => ({ value: k, label: t(`logs.finishReason.${k}`) }))}
          />
          <FilterSelect
            label={t('logs.rating')}
            value={filters.rating}
            onChange={(v) => set('rating', v as TFilters['rating'])}
            options={RATINGS.map((k) => ({ value: k, label: t(`logs.ratingFilter.${k}`) }))}
          />
          <Input
            type="number"
            min={0}
            inputMode="numeric"
            aria-label={t('logs.latencyMin')}
            placeholder={t('logs.latencyMin')}
            className="w-40"
            value={filters.minLatencyMs}
            onChange={(e) => set('minLatencyMs', e.target.value)}
          />
          <Input
            type="number"
            min={0}
            inputMode="numeric"
            aria-label={t('logs.latencyMax')}
            placeholder={t('logs.latencyMax')}
            className="w-40"
            value={filters.maxLatencyMs}
            onChange={(e) => set('maxLatencyMs', e.target.value)}
          />
          {filtered ? (
            <Button variant="ghost" size="sm" onClick={() => setFilters(NO_FILTERS)}>
              {t('logs.clearFilters')}
            </Button>
          ) : null}
        </div>
      </div>

      {selected.size > 0 ? (
        <div className="flex items-center justify-between gap-2 rounded-xl border bg-muted/40 px-3 py-2 text-sm">
          <span data-testid="logs-selected">{t('logs.selected', { n: formatNumber(selected.size, locale) })}</span>
          <Button size="sm" onClick={() => setAdding(true)} disabled={!canEdit}>
            <DatabaseIcon aria-hidden />
            {t('logs.addToDataset')}
          </Button>
        </div>
      ) : null}

      {state.status === 'loading' ? (
        <TableSkeleton columns={7} rows={5} label={t('common.loading')} />
      ) : state.status === 'error' ? (
        <EmptyState
          icon={AlertTriangleIcon}
          title={t('errors.title')}
          description={state.error.message}
          action={
            <Button variant="outline" onClick={reload}>
              {t('common.retry')}
            </Button>
          }
        />
      ) : page && page.total === 0 && !filtered ? (
        <EmptyState icon={ScrollTextIcon} title={t('logs.emptyTitle')} description={t('logs.emptyDescription')} />
      ) : page && page.total === 0 ? (
        <p className="py-8 text-center text-sm text-muted-foreground">{t('logs.noMatch')}</p>
      ) : page ? (
        <div className="grid gap-3">
          <div className="overflow-x-auto rounded-xl border bg-card shadow-xs">
            <Table aria-label={t('logs.title')}>
              <TableHeader>
                <TableRow>
                  <TableHead className="w-8">
                    <input
                      type="checkbox"
                      aria-label={t('logs.selectPage')}
                      checked={page.data.every((l) => selected.has(l.id))}
                      onChange={(e) =>
                        setSelected((current) => {
                          const next = new Map(current);
                          for (const l of page.data) {
                            if (e.target.checked) next.set(l.id, l);
                            else next.delete(l.id);
                          }
                          return next;
                        })
                      }
                    />
                  </TableHead>
                  <TableHead>{t('logs.colTime')}</TableHead>
                  <TableHead>{t('logs.colModel')}</TableHead>
                  <TableHead>{t('logs.colRequest')}</TableHead>
                  <TableHead>{t('logs.colAnswer')}</TableHead>
                  <TableHead className="text-right">{t('logs.colLatency')}</TableHead>
                  <TableHead className="text-right">{t('logs.colTokens')}</TableHead>
                  <TableHead>{t('logs.colFinish')}</TableHead>
                  <TableHead>{t('logs.rating')}</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {page.data.map((log) => (
                  <TableRow key={log.id} data-testid="log-row" data-log-id={log.id}>
                    <TableCell>
                      <input
                        type="checkbox"
                        aria-label={t('logs.select')}
                        checked={selected.has(log.id)}
                        onChange={() => toggle(log)}
                      />
                    </TableCell>
                    <TableCell className="whitespace-nowrap">
                      <button
                        type="button"
                        className="text-left underline-offset-2 hover:underline"
                        aria-label={t('logs.open')}
                        onClick={() => setOpenId(log.id)}
                      >
                        {formatDate(log.createdAt, locale)}
                      </button>
                    </TableCell>
                    <TableCell className="max-w-48">
                      <p className="truncate font-mono text-xs" title={log.model}>
                        {log.model}
                      </p>
                      <div className="mt-1 flex flex-wrap gap-1">
                        {log.deployment?.name ? <Badge variant="outline">{log.deployment.name}</Badge> : null}
                        <Badge variant="secondary">{t(`logs.sourceName.${log.source}`)}</Badge>
                      </div>
                    </TableCell>
                    <TableCell className="max-w-64">
                      <p className="line-clamp-2 text-sm [overflow-wrap:anywhere]">{log.prompt}</p>
                    </TableCell>
                    <TableCell className="max-w-64">
                      <p className="line-clamp-2 text-sm text-muted-foreground [overflow-wrap:anywhere]">
                        {log.answer}
                      </p>
                    </TableCell>
                    <TableCell className="text-right tabular-nums">{formatMs(log.latencyMs, locale)}</TableCell>
                    <TableCell className="text-right tabular-nums">
                      {t('logs.tokens', {
                        prompt: formatNumber(log.promptTokens, locale),
                        completion: formatNumber(log.completionTokens, locale),
                      })}
                    </TableCell>
                    <TableCell>
                      {log.finishReason ?? (log.status === 'completed' ? '—' : t(`logs.statusName.${log.status}`))}
                    </TableCell>
                    <TableCell>
                      <Thumbs rating={log.rating} disabled={!canEdit} onRate={(r) => void rate(log, r)} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </div>
          <Pager offset={offset} pageSize={PAGE} total={page.total} onOffset={setOffset} testId="logs-pager" />
        </div>
      ) : null}

      {openId ? (
        <LogDetailDialog
          id={openId}
          canEdit={canEdit}
          onClose={() => setOpenId(null)}
          onChanged={() => {
            reload();
          }}
          onDeleted={(id) => {
            setSelected((current) => {
              const next = new Map(current);
              next.delete(id);
              return next;
            });
            setOpenId(null);
            reload();
          }}
        />
      ) : null}
      {adding ? (
        <AddLogsToDatasetDialog
          logs={[...selected.values()]}
          onClose={() => setAdding(false)}
          onDone={() => {
            setAdding(false);
            setSelected(new Map());
          }}
        />
      ) : null}
    </div>
  );
}
