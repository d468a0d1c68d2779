'use client';

import { DownloadIcon } from 'lucide-react';
import * as React from 'react';
import { DateRange } from '@/components/billing/date-range';
import { LoadError } from '@/components/billing/load-error';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { unitText } from '@/lib/i18n/domain';
import type { TMessageKey } from '@/lib/i18n/translate';
import { formatDate } from '@/lib/utils';
import { BudgetCard } from './budget-card';
import { DailyChart } from './daily-chart';
import { PriceLists } from './price-lists';
import { CATEGORIES, formatMoney, type TCategory, type TLine, type TPriceList, type TSummary } from './types';

const today = () => new Date().toISOString().slice(0, 10);
const monthStart = () => `${today().slice(0, 8)}01`;

function Stat({ label, value, testId, raw }: { label: string; value: React.ReactNode; testId: string; raw?: string }) {
  return (
    <Card className="p-5" data-testid={testId} data-amount={raw}>
      <div className="text-sm text-muted-foreground">{label}</div>
      <div className="mt-3 text-2xl font-semibold tracking-tight tabular-nums">{value}</div>
    </Card>
  );
}

/** The billing dashboard: month-to-date and forecast, the daily chart with drill-down, breakdowns, budget, prices. */
export function BillingDashboard() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const base = `/api/workspaces/${workspace.slug}/billing`;
  const [from, setFrom] = React.useState(monthStart);
  const [to, setTo] = React.useState(today);
  const [summary, setSummary] = React.useState<TSummary | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [selection, setSelection] = React.useState<{ day: string; category: TCategory } | null>(null);
  const [lines, setLines] = React.useState<TLine[] | null>(null);
  const [prices, setPrices] = React.useState<TPriceList[] | null>(null);

  const load = React.useCallback(async () => {
    setError(null);
    try {
      setSummary(await api<TSummary>(`${base}/summary?from=${from}&to=${to}`));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }, [base, from, to]);
  React.useEffect(() => {
    void load();
  }, [load]);

  React.useEffect(() => {
    const qs = selection ? `day=${selection.day}&category=${selection.category}` : `from=${from}&to=${to}`;
    let live = true;
    api<{ data: TLine[] }>(`${base}/ledger?${qs}&limit=200`)
      .then((r) => live && setLines(r.data))
      .catch(() => live && setLines([]));
    return () => {
      live = false;
    };
  }, [base, from, to, selection]);

  const loadPrices = () => {
    if (prices === null)
      api<{ data: TPriceList[] }>(`${base}/price-lists`)
        .then((r) => setPrices(r.data))
        .catch(() => setPrices([]));
  };

  const currency = summary?.currency ?? 'USD';
  const money = (v: string, c = currency) => formatMoney(v, c, locale);
  const total = summary ? (summary.totals.byCurrency[currency] ?? '0') : '0';

  if (error) {
    return <LoadError message={error} onRetry={() => void load()} />;
  }

  return (
    <div className="grid gap-8">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        <Stat
          testId="billing-mtd"
          raw={summary?.monthToDate.amount}
          label={t('billing.monthToDate')}
          value={
            summary ? (
              money(summary.monthToDate.amount, summary.monthToDate.currency)
            ) : (
              <Skeleton className="h-8 w-24" />
            )
          }
        />
        <Stat
          testId="billing-forecast"
          raw={summary?.monthToDate.forecast}
          label={t('billing.forecast')}
          value={
            summary ? (
              money(summary.monthToDate.forecast, summary.monthToDate.currency)
            ) : (
              <Skeleton className="h-8 w-24" />
            )
          }
        />
        <Stat
          testId="billing-range-total"
          raw={summary ? total : undefined}
          label={t('billing.rangeTotal', { from, to })}
          value={summary ? money(total) : <Skeleton className="h-8 w-24" />}
        />
      </div>

      <div className="flex flex-wrap items-end gap-3">
        <DateRange idPrefix="billing" from={from} to={to} onFrom={setFrom} onTo={setTo} />
        <Button asChild variant="outline">
          <a href={`${base}/ledger?from=${from}&to=${to}&format=csv`} download>
            <DownloadIcon className="size-4" aria-hidden />
            {t('billing.exportLedger')}
          </a>
        </Button>
        <Button asChild variant="outline">
          <a href={`${base}/statement?month=${to.slice(0, 7)}&format=csv`} download>
            <DownloadIcon className="size-4" aria-hidden />
            {t('billing.exportStatement')}
          </a>
        </Button>
      </div>

      <Tabs defaultValue="usage" onValueChange={(v) => v === 'prices' && loadPrices()}>
        <TabsList>
          <TabsTrigger value="usage">{t('billing.usageTitle')}</TabsTrigger>
          <TabsTrigger value="prices">{t('billing.prices.title')}</TabsTrigger>
        </TabsList>
        <TabsContent value="usage" className="grid gap-6 pt-4">
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            {CATEGORIES.map((c) => (
              <Stat
                key={c}
                testId={`billing-total-${c}`}
                raw={summary?.totals.byCategory[c]}
                label={t(`billing.category.${c}`)}
                value={summary ? money(summary.totals.byCategory[c]) : <Skeleton className="h-8 w-20" />}
              />
            ))}
          </div>
          <Card data-testid="billing-daily" data-days={summary?.daily.length ?? 0}>
            <CardHeader className="pb-2">
              <CardTitle className="text-sm">{t('billing.dailyTitle')}</CardTitle>
              <p className="text-xs text-muted-foreground">{t('billing.dailyHint')}</p>
            </CardHeader>
            <CardContent className="h-64 px-2 pb-4">
              {summary ? (
                <DailyChart
                  days={summary.daily}
                  currency={currency}
                  onSelect={(day, category) => setSelection({ day, category })}
                />
              ) : (
                <Skeleton className="h-full w-full" />
              )}
            </CardContent>
          </Card>
          {summary ? (
            <BudgetCard
              key={JSON.stringify(summary.budget)}
              status={summary.budget}
              mailConfigured={summary.mailConfigured !== false}
              onChange={() => void load()}
            />
          ) : null}
          <LedgerTable
            lines={lines}
            title={
              selection
                ? t('billing.linesFor', { day: selection.day, category: t(`billing.category.${selection.category}`) })
                : t('billing.linesAll')
            }
            onShowAll={selection ? () => setSelection(null) : undefined}
          />
          {summary ? <Breakdowns summary={summary} /> : null}
        </TabsContent>
        <TabsContent value="prices" className="pt-4">
          {prices ? <PriceLists lists={prices} /> : <Skeleton className="h-40 w-full" />}
        </TabsContent>
      </Tabs>
    </div>
  );
}

function LedgerTable({ lines, title, onShowAll }: { lines: TLine[] | null; title: string; onShowAll?: () => void }) {
  const t = useT();
  const locale = useLocale();
  return (
    <section data-testid="billing-lines" data-count={lines?.length ?? -1} className="grid gap-2">
      <div className="flex items-center justify-between">
        <h2 className="text-base font-semibold">{title}</h2>
        {onShowAll ? (
          <Button variant="ghost" size="sm" onClick={onShowAll}>
            {t('billing.showAll')}
          </Button>
        ) : null}
      </div>
      {lines === null ? (
        <Skeleton className="h-24 w-full" />
      ) : lines.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t('billing.nothing')}</p>
      ) : (
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>{t('billing.colDate')}</TableHead>
              <TableHead>{t('billing.colCategory')}</TableHead>
              <TableHead>{t('billing.colMeter')}</TableHead>
              <TableHead>{t('billing.colQuantity')}</TableHead>
              <TableHead className="text-right">{t('billing.colCost')}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {lines.map((l) => (
              <TableRow key={l.id} data-testid="billing-line" data-amount={l.amount}>
                <TableCell>{formatDate(l.occurredAt, locale)}</TableCell>
                <TableCell>{t(`billing.category.${l.category}`)}</TableCell>
                <TableCell>{t(`billing.meter.${l.meter}` as TMessageKey)}</TableCell>
                <TableCell className="tabular-nums">
                  {t('units.quantity', { quantity: l.quantity, unit: unitText(t, l.unit) })}
                </TableCell>
                <TableCell className="text-right tabular-nums">{formatMoney(l.amount, l.currency, locale)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </section>
  );
}

const BREAKDOWN_KEYS = ['model', 'job', 'deployment', 'apiKey', 'member'] as const;

function Breakdowns({ summary }: { summary: TSummary }) {
  const t = useT();
  const locale = useLocale();
  return (
    <section className="grid gap-3">
      <h2 className="text-base font-semibold">{t('billing.breakdownTitle')}</h2>
      <div className="grid gap-4 lg:grid-cols-2">
        {BREAKDOWN_KEYS.map((k) => (
          <Card key={k} data-testid={`billing-by-${k}`}>
            <CardHeader className="pb-2">
              <CardTitle className="text-sm">{t(`billing.by.${k}`)}</CardTitle>
            </CardHeader>
            <CardContent>
              {summary.breakdowns[k].length === 0 ? (
                <p className="text-sm text-muted-foreground">{t('billing.nothing')}</p>
              ) : (
                <Table>
                  <TableHeader>
                    <TableRow>
                      <TableHead>{t('billing.colName')}</TableHead>
                      <TableHead className="text-right">{t('billing.colLines')}</TableHead>
                      <TableHead className="text-right">{t('billing.colAmount')}</TableHead>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {summary.breakdowns[k].slice(0, 10).map((r) => (
                      <TableRow key={r.key}>
                        <TableCell className="max-w-48 truncate text-xs" title={r.key}>
                          {r.name ?? <span className="font-mono">{r.key}</span>}
                        </TableCell>
                        <TableCell className="text-right tabular-nums">{r.lines}</TableCell>
                        <TableCell className="text-right tabular-nums">
                          {formatMoney(r.amount, summary.currency, locale)}
                        </TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              )}
            </CardContent>
          </Card>
        ))}
      </div>
    </section>
  );
}
