'use client';

import { CalculatorIcon, Loader2 } from 'lucide-react';
import type * as React from 'react';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import type { ApiError } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import { formatCompact, formatDuration, formatMoney } from './format';
import type { TEstimate } from './types';

/** Trained tokens, time and cost before Start; the last answer stays while a new one is computed. */
export function EstimateCard({
  estimate,
  error,
  loading,
  ready,
  notReadyHint,
  pairs,
  children,
}: {
  /** A preference job (dpo): the note says both sequences of each pair are counted. */
  pairs?: boolean;
  estimate: TEstimate | null;
  error: ApiError | null;
  loading: boolean;
  /** false until a model and a dataset version are picked and the form validates. */
  ready: boolean;
  /** Why there is no estimate yet (nothing picked, or a field to fix). */
  notReadyHint: string;
  children?: React.ReactNode;
}) {
  const t = useT();
  const locale = useLocale();
  const rows: Array<[string, string]> = estimate
    ? [
        [t('fineTuning.estimate.datasetTokens'), formatNumber(estimate.datasetTokens, locale)],
        [t('fineTuning.estimate.epochs'), formatNumber(estimate.epochs, locale)],
        [t('fineTuning.estimate.trainedTokens'), formatNumber(estimate.trainedTokens, locale)],
        [
          t('fineTuning.estimate.throughput'),
          t('fineTuning.estimate.tokensPerSec', { value: formatCompact(estimate.throughputTokensPerSec, locale) }),
        ],
        [t('fineTuning.estimate.workerClass'), estimate.workerClass],
      ]
    : [];
  return (
    <Card aria-live="polite" aria-busy={loading || undefined} data-testid="estimate">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <CalculatorIcon className="size-4 text-muted-foreground" aria-hidden />
          {t('fineTuning.estimate.title')}
          {loading ? <Loader2 className="size-3.5 animate-spin text-muted-foreground" aria-hidden /> : null}
        </CardTitle>
        <CardDescription>{t('fineTuning.estimate.description')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {!ready ? (
          <p className="text-sm text-muted-foreground">{notReadyHint}</p>
        ) : error ? (
          <p className="text-sm text-destructive" role="alert">
            {t('fineTuning.estimate.failed', { message: error.message })}
          </p>
        ) : estimate ? (
          <>
            <div className="grid grid-cols-2 gap-3">
              <div className="rounded-lg bg-muted/60 p-3">
                <p className="text-xs text-muted-foreground">{t('fineTuning.estimate.time')}</p>
                <p className="text-lg font-semibold tabular-nums" data-testid="estimate-time">
                  {formatDuration(estimate.estimatedSeconds, locale)}
                </p>
                <p className="text-xs text-muted-foreground tabular-nums" data-testid="estimate-time-range">
                  {t('fineTuning.estimate.range', {
                    low: formatDuration(estimate.estimatedSecondsRange.low, locale),
                    high: formatDuration(estimate.estimatedSecondsRange.high, locale),
                  })}
                </p>
              </div>
              <div className="rounded-lg bg-muted/60 p-3">
                <p className="text-xs text-muted-foreground">{t('fineTuning.estimate.cost')}</p>
                <p className="text-lg font-semibold tabular-nums" data-testid="estimate-cost">
                  {formatMoney(estimate.cost, locale)}
                </p>
              </div>
            </div>
            <dl className="grid gap-1.5 text-sm">
              {rows.map(([label, value]) => (
                <div key={label} className="flex justify-between gap-4">
                  <dt className="text-muted-foreground">{label}</dt>
                  <dd className="font-medium tabular-nums">{value}</dd>
                </div>
              ))}
            </dl>
            <p className="text-xs text-muted-foreground" data-testid="estimate-basis">
              {estimate.tokensExact ? t('fineTuning.estimate.tokensExact') : t('fineTuning.estimate.tokensRough')}{' '}
              {estimate.throughputMeasured ? t('fineTuning.estimate.timeMeasured') : t('fineTuning.estimate.timeGuess')}
            </p>
            {pairs ? <p className="text-xs text-muted-foreground">{t('fineTuning.estimate.pairsNote')}</p> : null}
          </>
        ) : (
          <p className="text-sm text-muted-foreground">{t('common.loading')}</p>
        )}
        {children}
      </CardContent>
    </Card>
  );
}
