'use client';

import { CoinsIcon, CpuIcon, MessageSquareTextIcon, ReceiptIcon, ServerIcon } from 'lucide-react';
import type * as React from 'react';
import { ResourceTable } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Card } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { Skeleton } from '@/components/ui/skeleton';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useLocale, useT } from '@/lib/i18n/client';
import type { TMessageKey } from '@/lib/i18n/translate';
import { useList } from '@/lib/use-list';
import { formatDate, formatNumber } from '@/lib/utils';

type TUsage = {
  id: string;
  category: string;
  meter: string;
  quantity: string | number;
  unit: string;
  amount: string | number;
  currency: string;
  occurredAt: string;
};

function StatCard({ icon: Icon, label, value }: { icon: React.ElementType; label: string; value: React.ReactNode }) {
  return (
    <Card className="p-5">
      <div className="flex items-center justify-between text-sm text-muted-foreground">
        {label}
        <Icon className="size-4" aria-hidden />
      </div>
      <div className="mt-3 text-2xl font-semibold tracking-tight tabular-nums">{value}</div>
    </Card>
  );
}

function money(amount: number, currency: string, locale: string) {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(amount);
  } catch {
    return `${formatNumber(amount, locale)} ${currency}`;
  }
}

export function BillingView() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TUsage>(apiPaths.usage(workspace.slug));
  const items = state.status === 'ready' ? state.items : [];
  const monthStart = new Date(new Date().getFullYear(), new Date().getMonth(), 1);
  const thisMonth = items.filter((u) => new Date(u.occurredAt) >= monthStart);
  const sum = (rows: TUsage[], pick: (u: TUsage) => string | number) => rows.reduce((s, u) => s + Number(pick(u)), 0);
  const currency = items[0]?.currency ?? 'USD';
  const byMeter = (meters: string[]) =>
    sum(
      thisMonth.filter((u) => meters.includes(u.meter)),
      (u) => u.quantity,
    );
  const loading = state.status === 'loading';
  const stat = (value: string) => (loading ? <Skeleton className="h-8 w-24" /> : value);

  return (
    <div className="grid gap-8">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <StatCard
          icon={CoinsIcon}
          label={t('billing.monthToDate')}
          value={stat(
            money(
              sum(thisMonth, (u) => u.amount),
              currency,
              locale,
            ),
          )}
        />
        <StatCard
          icon={CpuIcon}
          label={t('billing.trainingTokens')}
          value={stat(formatNumber(byMeter(['training_tokens']), locale))}
        />
        <StatCard
          icon={MessageSquareTextIcon}
          label={t('billing.inferenceTokens')}
          value={stat(formatNumber(byMeter(['input_tokens', 'output_tokens']), locale))}
        />
        <StatCard
          icon={ServerIcon}
          label={t('billing.deploymentHours')}
          value={stat(formatNumber(byMeter(['deployment_hours']), locale))}
        />
      </div>
      <section>
        <h2 className="mb-4 text-base font-semibold">{t('billing.usageTitle')}</h2>
        <ResourceTable
          label={t('billing.usageTitle')}
          state={state}
          onRetry={reload}
          columns={[
            { header: t('billing.colDate'), cell: (u) => formatDate(u.occurredAt, locale) },
            {
              header: t('billing.colCategory'),
              cell: (u) => <Badge variant="secondary">{t(`billing.category.${u.category}` as TMessageKey)}</Badge>,
            },
            { header: t('billing.colQuantity'), cell: (u) => `${formatNumber(Number(u.quantity), locale)} ${u.unit}` },
            {
              header: t('billing.colCost'),
              cell: (u) => money(Number(u.amount), u.currency, locale),
              className: 'text-right',
            },
          ]}
          empty={
            <EmptyState
              icon={ReceiptIcon}
              title={t('billing.emptyTitle')}
              description={t('billing.emptyDescription')}
            />
          }
        />
      </section>
    </div>
  );
}
