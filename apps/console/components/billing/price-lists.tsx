'use client';

import { Badge } from '@/components/ui/badge';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useLocale, useT } from '@/lib/i18n/client';
import { priceListName, unitText } from '@/lib/i18n/domain';
import type { TMessageKey } from '@/lib/i18n/translate';
import { formatDate } from '@/lib/utils';
import { BILLED_BY_THE_MINUTE, effectiveOf, type TPriceList } from './types';

/** The price lists that can apply here: this workspace's overrides first, then the instance's, newest first. */
export function PriceLists({ lists }: { lists: TPriceList[] }) {
  const t = useT();
  return (
    <div className="grid gap-6" data-testid="billing-prices">
      {lists.map((l) => (
        <div key={l.id} className="grid gap-2">
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <span className="font-medium">{priceListName(t, l.name)}</span>
            <Badge variant="secondary">
              {t(l.scope === 'workspace' ? 'billing.prices.workspace' : 'billing.prices.instance')}
            </Badge>
            <span className="text-muted-foreground" data-testid="billing-price-effective">
              <Effective list={l} />
            </span>
          </div>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>{t('billing.colMeter')}</TableHead>
                <TableHead>{t('billing.colScope')}</TableHead>
                <TableHead>{t('billing.colUnit')}</TableHead>
                <TableHead className="text-right">{t('billing.colUnitPrice')}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {l.items.map((i) => (
                <TableRow key={i.id}>
                  <TableCell>{t(`billing.meter.${i.meter}` as TMessageKey)}</TableCell>
                  <TableCell className="font-mono text-xs">
                    {[i.modelRef, i.method, i.workerClass].filter(Boolean).join(' · ') || t('billing.prices.any')}
                  </TableCell>
                  <TableCell>
                    {BILLED_BY_THE_MINUTE.has(i.meter)
                      ? t('billingNames.perHourByMinute', { unit: unitText(t, i.unit) })
                      : unitText(t, i.unit)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{`${i.unitPrice} ${l.currency}`}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
      ))}
    </div>
  );
}

function Effective({ list }: { list: TPriceList }) {
  const t = useT();
  const locale = useLocale();
  const e = effectiveOf(list);
  if (e.kind === 'since') return t('billing.prices.effective', { date: formatDate(e.date, locale) });
  return e.date
    ? t('billingNames.sinceInstallOn', { date: formatDate(e.date, locale) })
    : t('billingNames.sinceInstall');
}
