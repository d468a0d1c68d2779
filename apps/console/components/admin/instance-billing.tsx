'use client';

import Link from 'next/link';
import * as React from 'react';
import { DateRange } from '@/components/billing/date-range';
import { LoadError } from '@/components/billing/load-error';
import { CATEGORIES, formatMoney, type TCategory } from '@/components/billing/types';
import { Badge } from '@/components/ui/badge';
import { Card } from '@/components/ui/card';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';

/** GET /api/admin/billing/workspaces (lib/server/routes/billing-admin.ts); amounts are decimal strings. */
type TWorkspaceRow = {
  id: string;
  name: string;
  slug: string;
  members: number;
  currency: string;
  totals: { byCategory: Record<TCategory, string>; byCurrency: Record<string, string> };
  monthToDate: { currency: string; amount: string; forecast: string };
  budget: {
    amount: string;
    currency: string;
    hardLimit: boolean;
    spent: string;
    percent: number;
    exceeded: boolean;
  } | null;
  myRole: string | null;
};
type TOverview = {
  from: string;
  to: string;
  totals: { currency: string; byCategory: Record<TCategory, string>; byCurrency: Record<string, string> };
  workspaces: TWorkspaceRow[];
};

const today = () => new Date().toISOString().slice(0, 10);
const monthStart = () => `${today().slice(0, 8)}01`;

/** The instance admin's billing page: every workspace's spend by category, month to date, forecast and budget. */
export function InstanceBilling() {
  const t = useT();
  const locale = useLocale();
  const [from, setFrom] = React.useState(monthStart);
  const [to, setTo] = React.useState(today);
  const [data, setData] = React.useState<TOverview | null>(null);
  const [error, setError] = React.useState<string | null>(null);

  const load = React.useCallback(async () => {
    setError(null);
    try {
      setData(await api<TOverview>(`/api/admin/billing/workspaces?from=${from}&to=${to}`));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }, [from, to]);
  React.useEffect(() => {
    void load();
  }, [load]);

  if (error) {
    return <LoadError message={error} onRetry={() => void load()} />;
  }

  const currency = data?.totals.currency ?? 'USD';
  const total = data ? (data.totals.byCurrency[currency] ?? '0') : undefined;
  return (
    <div className="grid gap-8">
      <div className="flex flex-wrap items-end gap-3">
        <DateRange idPrefix="admin-billing" from={from} to={to} onFrom={setFrom} onTo={setTo} />
      </div>

      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
        <Card className="p-5" data-testid="admin-billing-total" data-amount={total}>
          <div className="text-sm text-muted-foreground">{t('adminBilling.total', { from, to })}</div>
          <div className="mt-3 text-2xl font-semibold tracking-tight tabular-nums">
            {data && total !== undefined ? formatMoney(total, currency, locale) : <Skeleton className="h-8 w-24" />}
          </div>
        </Card>
        {CATEGORIES.map((c) => (
          <Card
            key={c}
            className="p-5"
            data-testid={`admin-billing-total-${c}`}
            data-amount={data?.totals.byCategory[c]}
          >
            <div className="text-sm text-muted-foreground">{t(`billing.category.${c}`)}</div>
            <div className="mt-3 text-2xl font-semibold tracking-tight tabular-nums">
              {data ? formatMoney(data.totals.byCategory[c], currency, locale) : <Skeleton className="h-8 w-20" />}
            </div>
          </Card>
        ))}
      </div>

      <section className="grid gap-2" data-testid="admin-billing-workspaces" data-count={data?.workspaces.length ?? -1}>
        <h2 className="text-base font-semibold">{t('adminBilling.workspaces')}</h2>
        {!data ? (
          <Skeleton className="h-40 w-full" />
        ) : data.workspaces.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t('adminBilling.none')}</p>
        ) : (
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>{t('adminBilling.colWorkspace')}</TableHead>
                {CATEGORIES.map((c) => (
                  <TableHead key={c} className="text-right">
                    {t(`billing.category.${c}`)}
                  </TableHead>
                ))}
                <TableHead className="text-right">{t('adminBilling.colMonthToDate')}</TableHead>
                <TableHead className="text-right">{t('adminBilling.colForecast')}</TableHead>
                <TableHead className="text-right">{t('adminBilling.colBudget')}</TableHead>
                <TableHead>{t('adminBilling.colUsed')}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {data.workspaces.map((w) => (
                <WorkspaceRow key={w.id} w={w} />
              ))}
            </TableBody>
          </Table>
        )}
      </section>
    </div>
  );
}

function WorkspaceRow({ w }: { w: TWorkspaceRow }) {
  const t = useT();
  const locale = useLocale();
  const money = (v: string, c = w.currency) => formatMoney(v, c, locale);
  // a member opens their own dashboard; anyone else the read-only admin view of it
  const href = w.myRole ? `/w/${w.slug}/billing` : `/admin/billing/${w.slug}`;
  return (
    <TableRow data-testid="admin-billing-row" data-slug={w.slug}>
      <TableCell>
        <Link
          href={href}
          aria-label={t('adminBilling.openLabel', { name: w.name })}
          className="font-medium text-primary underline-offset-4 hover:underline"
        >
          {w.name}
        </Link>
        <div className="text-xs text-muted-foreground">
          <span className="font-mono">{w.slug}</span> · {t('adminBilling.members', { count: w.members })}
        </div>
      </TableCell>
      {CATEGORIES.map((c) => (
        <TableCell
          key={c}
          className="text-right tabular-nums"
          data-testid={`row-${c}`}
          data-amount={w.totals.byCategory[c]}
        >
          {money(w.totals.byCategory[c])}
        </TableCell>
      ))}
      <TableCell className="text-right tabular-nums" data-testid="row-mtd" data-amount={w.monthToDate.amount}>
        {money(w.monthToDate.amount, w.monthToDate.currency)}
      </TableCell>
      <TableCell className="text-right tabular-nums" data-testid="row-forecast" data-amount={w.monthToDate.forecast}>
        {money(w.monthToDate.forecast, w.monthToDate.currency)}
      </TableCell>
      <TableCell className="text-right tabular-nums">
        {w.budget ? money(w.budget.amount, w.budget.currency) : t('adminBilling.noBudget')}
      </TableCell>
      <TableCell data-testid="row-used" data-percent={w.budget?.percent}>
        {w.budget ? (
          <div className="flex min-w-32 items-center gap-2">
            <div className="h-2 w-20 overflow-hidden rounded bg-muted">
              <div
                className={w.budget.exceeded ? 'h-full bg-destructive' : 'h-full bg-primary'}
                style={{ width: `${Math.min(w.budget.percent, 100)}%` }}
              />
            </div>
            <span className="text-sm tabular-nums">{`${w.budget.percent}%`}</span>
            {w.budget.exceeded ? <Badge variant="destructive">{t('billing.budget.exceeded')}</Badge> : null}
          </div>
        ) : (
          <span className="text-muted-foreground">—</span>
        )}
      </TableCell>
    </TableRow>
  );
}
