'use client';

import { DatabaseIcon, DownloadIcon, ScaleIcon, SquareIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { usePoll } from '@/components/deployments/use-poll';
import { Picker } from '@/components/fine-tuning/picker';
import { ProgressBar } from '@/components/fine-tuning/progress-bar';
import { JobStatusBadge } from '@/components/status-badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField } from '@/components/ui/form-field';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api, failureText } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import type { TMessageKey } from '@/lib/i18n/translate';
import { can } from '@/lib/roles';
import { formatNumber } from '@/lib/utils';
import { AddRowsToDatasetDialog } from './add-rows-to-dataset';
import { evaluationModelLabel, evaluationPaths, isOpen, type TEvaluation, type TResultRow, type TRows } from './api';

const PAGE = 10;

/** Metric names that are the same in every language. */
const PROPER_NAMES: Record<string, string> = {
  'bleu-4': 'BLEU-4',
  'rouge-1': 'ROUGE-1',
  'rouge-2': 'ROUGE-2',
  'rouge-l': 'ROUGE-L',
};

/** A score name as the reader reads it (a grader of the Evals API keeps its own name). */
function useMetricName() {
  const t = useT();
  return (name: string) => {
    if (PROPER_NAMES[name]) return PROPER_NAMES[name];
    const key = `evaluations.metricNames.${name}` as TMessageKey;
    const label = t(key);
    return label === key ? name : label;
  };
}

function formatScore(value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value);
}

/** `/w/[slug]/evaluations/[id]`: status and live progress, the metric table, the answers side by side, exports. */
export function EvaluationDetail({ id }: { id: string }) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const toast = useToast();
  const { state, reload } = usePoll<TEvaluation>(evaluationPaths.one(workspace.slug, id), (e) =>
    isOpen(e.status) ? 2000 : null,
  );
  const [confirming, setConfirming] = React.useState(false);
  if (state.status !== 'ready') return <Skeleton className="h-96" role="status" aria-label={t('common.loading')} />;
  const ev = state.data;
  const canCancel = isOpen(ev.status) && !ev.cancelRequested && can(workspace.role, 'evaluate');
  const cancel = async () => {
    try {
      await api(evaluationPaths.cancel(workspace.slug, id), { method: 'POST' });
      toast({ title: t('evaluations.detail.cancelled') });
      reload();
    } catch (error) {
      toast({
        variant: 'error',
        title: t('errors.title'),
        description: failureText(error),
      });
    }
  };
  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="grid gap-1">
          <h1 className="flex items-center gap-3 text-2xl font-semibold tracking-tight">
            {ev.name} <JobStatusBadge status={ev.status} />
          </h1>
          <p className="text-sm text-muted-foreground">
            {t('evaluations.detail.settingsLine', {
              rows: formatNumber(ev.rowCount, locale),
              max: formatNumber(ev.settings.maxNewTokens, locale),
              temperature: formatScore(ev.settings.temperature, locale),
            })}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button asChild variant="outline">
            <Link href={`/w/${workspace.slug}/evaluations/${id}/rate`}>
              <ScaleIcon aria-hidden />
              {t('evaluations.detail.rate')}
            </Link>
          </Button>
          <Button asChild variant="outline">
            <a href={evaluationPaths.export(workspace.slug, id, 'csv')} download>
              <DownloadIcon aria-hidden />
              {t('evaluations.detail.exportCsv')}
            </a>
          </Button>
          <Button asChild variant="outline">
            <a href={evaluationPaths.export(workspace.slug, id, 'jsonl')} download>
              <DownloadIcon aria-hidden />
              {t('evaluations.detail.exportJsonl')}
            </a>
          </Button>
          {canCancel ? (
            <Button variant="destructive" onClick={() => setConfirming(true)}>
              <SquareIcon aria-hidden />
              {t('evaluations.detail.cancel')}
            </Button>
          ) : null}
        </div>
      </div>
      <div className="grid gap-1">
        <ProgressBar
          value={ev.progress.total ? (100 * ev.progress.done) / ev.progress.total : null}
          label={t('evaluations.progressLabel')}
        />
        <span className="text-xs text-muted-foreground" data-testid="evaluation-progress">
          {t('evaluations.progress', {
            done: formatNumber(ev.progress.done, locale),
            total: formatNumber(ev.progress.total, locale),
          })}
        </span>
      </div>
      {ev.error ? (
        <p role="alert" className="rounded-md border border-destructive/50 p-3 text-sm text-destructive">
          {t('evaluations.detail.failed')}: {ev.error.message ?? ev.error.code}
        </p>
      ) : null}
      <MetricTable ev={ev} />
      <ResultRows ev={ev} />
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={t('evaluations.detail.cancelTitle', { name: ev.name })}
        description={t('evaluations.detail.cancelDescription')}
        confirmLabel={t('evaluations.detail.cancel')}
        onConfirm={cancel}
      />
    </div>
  );
}

function MetricTable({ ev }: { ev: TEvaluation }) {
  const t = useT();
  const locale = useLocale();
  const metricName = useMetricName();
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('evaluations.detail.metricsTitle')}</CardTitle>
        <CardDescription>{t('evaluations.detail.metricsDescription')}</CardDescription>
      </CardHeader>
      <CardContent className="overflow-x-auto">
        <Table aria-label={t('evaluations.detail.metricsTitle')}>
          <TableHeader>
            <TableRow>
              <TableHead>{t('evaluations.detail.colModel')}</TableHead>
              {ev.metrics.map((m) => (
                <TableHead key={m} className="text-right">
                  {metricName(m)}
                </TableHead>
              ))}
              <TableHead className="text-right">{t('evaluations.detail.colAnswered')}</TableHead>
              <TableHead className="text-right">{t('evaluations.detail.colErrors')}</TableHead>
              <TableHead className="text-right">{t('evaluations.detail.colTokens')}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {(ev.results ?? []).map((r) => (
              <TableRow key={r.index}>
                <TableCell className="font-mono text-xs">
                  {evaluationModelLabel(ev.models.find((m) => m.index === r.index) ?? r, t, locale)}
                </TableCell>
                {ev.metrics.map((m) => (
                  <TableCell key={m} className="text-right tabular-nums">
                    {formatScore(r.means[m], locale)}
                  </TableCell>
                ))}
                <TableCell className="text-right tabular-nums">{formatNumber(r.answered, locale)}</TableCell>
                <TableCell className="text-right tabular-nums">{formatNumber(r.errors, locale)}</TableCell>
                <TableCell className="text-right tabular-nums">
                  {formatNumber(r.promptTokens + r.completionTokens, locale)}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

function ResultRows({ ev }: { ev: TEvaluation }) {
  const t = useT();
  const locale = useLocale();
  const metricName = useMetricName();
  const { workspace } = useWorkspace();
  const [sort, setSort] = React.useState<'index' | 'disagreement'>('index');
  const [metric, setMetric] = React.useState<string | null>(null);
  const [offset, setOffset] = React.useState(0);
  const path = evaluationPaths.rows(workspace.slug, ev.id, { sort, metric, offset, limit: PAGE });
  // Refreshed with the evaluation while it runs (its progress changes), once when it is done.
  const { state } = usePoll<TRows>(`${path}&v=${ev.progress.done}`, () => null);
  const rows = state.status === 'ready' ? state.data : null;
  // Rows picked for "add to dataset", kept across pages and sorts (by row index).
  const [selected, setSelected] = React.useState<Map<number, TResultRow>>(new Map());
  const [adding, setAdding] = React.useState(false);
  const canAdd = can(workspace.role, 'evaluate');
  const select = (row: TResultRow, on: boolean) =>
    setSelected((current) => {
      const next = new Map(current);
      if (on) next.set(row.index, row);
      else next.delete(row.index);
      return next;
    });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('evaluations.detail.rowsTitle')}</CardTitle>
        <CardDescription>{t('evaluations.detail.rowsDescription')}</CardDescription>
        <div className="flex flex-wrap gap-4 pt-2">
          <FormField label={t('evaluations.detail.sort')}>
            <Picker
              value={sort}
              onChange={(v) => {
                setSort(v as 'index' | 'disagreement');
                setOffset(0);
              }}
              options={[
                { value: 'index', label: t('evaluations.detail.sortIndex') },
                { value: 'disagreement', label: t('evaluations.detail.sortDisagreement') },
              ]}
            />
          </FormField>
          {sort === 'disagreement' && rows?.metrics.length ? (
            <FormField label={t('evaluations.detail.metric')}>
              <Picker
                value={metric ?? rows.metric ?? ''}
                onChange={(v) => {
                  setMetric(v);
                  setOffset(0);
                }}
                options={rows.metrics.map((m) => ({ value: m, label: metricName(m) }))}
              />
            </FormField>
          ) : null}
        </div>
      </CardHeader>
      <CardContent className="grid gap-4">
        {selected.size > 0 ? (
          <div className="flex flex-wrap items-center gap-3 rounded-md border bg-muted/50 p-2 text-sm">
            <span data-testid="evaluation-rows-selected">
              {t('evaluations.detail.selected', { n: formatNumber(selected.size, locale) })}
            </span>
            <Button size="sm" onClick={() => setAdding(true)}>
              <DatabaseIcon aria-hidden />
              {t('evaluations.detail.addToDataset')}
            </Button>
            <Button size="sm" variant="outline" onClick={() => setSelected(new Map())}>
              {t('evaluations.detail.clearSelection')}
            </Button>
          </div>
        ) : null}
        {!rows ? <Skeleton className="h-40" /> : null}
        {rows?.data.map((r) => (
          <RowCard
            key={r.index}
            row={r}
            ev={ev}
            showSpread={sort === 'disagreement'}
            metric={rows.metric}
            selected={canAdd ? selected.has(r.index) : null}
            onSelect={(on) => select(r, on)}
          />
        ))}
        {rows && rows.total > PAGE ? (
          <div className="flex items-center justify-between text-sm">
            <span className="text-muted-foreground">
              {t('evaluations.detail.page', {
                from: formatNumber(offset + 1, locale),
                to: formatNumber(Math.min(rows.total, offset + PAGE), locale),
                total: formatNumber(rows.total, locale),
              })}
            </span>
            <div className="flex gap-2">
              <Button variant="outline" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                {t('evaluations.detail.previous')}
              </Button>
              <Button variant="outline" disabled={offset + PAGE >= rows.total} onClick={() => setOffset(offset + PAGE)}>
                {t('evaluations.detail.next')}
              </Button>
            </div>
          </div>
        ) : null}
      </CardContent>
      {adding ? (
        <AddRowsToDatasetDialog
          ev={ev}
          rows={[...selected.values()].sort((a, b) => a.index - b.index)}
          onClose={() => setAdding(false)}
          onDone={() => {
            setAdding(false);
            setSelected(new Map());
          }}
        />
      ) : null}
    </Card>
  );
}

/** One row: the prompt, the label, and every model's answer side by side with its scores. */
function RowCard({
  row,
  ev,
  showSpread,
  metric,
  selected,
  onSelect,
}: {
  row: TResultRow;
  ev: TEvaluation;
  showSpread: boolean;
  metric: string | null;
  /** Whether the row is picked for "add to dataset"; null where the member may not add rows. */
  selected: boolean | null;
  onSelect: (on: boolean) => void;
}) {
  const t = useT();
  const locale = useLocale();
  const metricName = useMetricName();
  return (
    <section
      className="grid gap-3 rounded-md border p-4"
      aria-label={t('evaluations.detail.row', { n: row.index + 1 })}
    >
      <div className="flex items-center justify-between text-sm font-medium">
        <span className="flex items-center gap-2">
          {selected !== null ? (
            <input
              type="checkbox"
              checked={selected}
              aria-label={t('evaluations.detail.select', { n: row.index + 1 })}
              onChange={(e) => onSelect(e.target.checked)}
            />
          ) : null}
          {t('evaluations.detail.row', { n: row.index + 1 })}
        </span>
        {showSpread && metric ? (
          <span className="text-xs text-muted-foreground">
            {metricName(metric)} · {t('evaluations.detail.spread', { value: formatScore(row.spread, locale) })}
          </span>
        ) : null}
      </div>
      <div className="grid gap-1 text-sm">
        <span className="text-xs font-medium text-muted-foreground">{t('evaluations.detail.prompt')}</span>
        {row.messages.map((m, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a prompt's turns never move
          <p key={`${i}-${m.role}`} className="whitespace-pre-wrap">
            <span className="font-mono text-xs text-muted-foreground">{m.role}: </span>
            {m.content}
          </p>
        ))}
      </div>
      <div className="grid gap-3" style={{ gridTemplateColumns: `repeat(${ev.models.length + 1}, minmax(0, 1fr))` }}>
        <div className="grid content-start gap-1 rounded-md bg-muted p-3 text-sm">
          <span className="text-xs font-medium text-muted-foreground">{t('evaluations.detail.label')}</span>
          <p className="whitespace-pre-wrap">{row.label}</p>
        </div>
        {ev.models.map((m) => {
          const answer = row.outputs.find((o) => o.modelIndex === m.index);
          const reason = answer?.details?.judge_reason;
          return (
            <div key={m.index} className="grid content-start gap-1 rounded-md border p-3 text-sm" data-model={m.name}>
              <span className="font-mono text-xs text-muted-foreground">{evaluationModelLabel(m, t, locale)}</span>
              {!answer ? (
                <p className="text-muted-foreground">{t('evaluations.detail.noAnswer')}</p>
              ) : answer.errorCode ? (
                <p className="text-destructive">
                  {t('evaluations.detail.answerError', { message: answer.errorMessage ?? answer.errorCode })}
                </p>
              ) : (
                <p className="whitespace-pre-wrap">{answer.text}</p>
              )}
              {answer ? (
                <dl className="mt-1 flex flex-wrap gap-x-3 gap-y-1 text-xs text-muted-foreground">
                  {ev.metrics.map((k) => (
                    <div key={k} className="flex gap-1">
                      <dt>{metricName(k)}</dt>
                      <dd className="tabular-nums text-foreground">{formatScore(answer.scores[k], locale)}</dd>
                    </div>
                  ))}
                </dl>
              ) : null}
              {typeof reason === 'string' ? (
                <p className="text-xs text-muted-foreground">{t('evaluations.detail.judgeReason', { reason })}</p>
              ) : null}
            </div>
          );
        })}
      </div>
    </section>
  );
}
