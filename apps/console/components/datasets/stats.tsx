'use client';

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import type { TStats } from './api';
import { binLabel } from './histogram';

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="rounded-lg border p-3">
      <p className="text-xs text-muted-foreground">{label}</p>
      <p className="text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </p>
    </div>
  );
}

/** Rows, turns, token distribution (p50/p95/max, over the cutoff) and a histogram of tokens per row. */
export function StatsPanel({ stats, tokenizer }: { stats: TStats; tokenizer: string | null }) {
  const t = useT();
  const locale = useLocale();
  const n = (v: number | undefined) => formatNumber(v ?? 0, locale);
  const tokens = stats.tokens;
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('datasets.statsTitle')}</CardTitle>
        {tokenizer ? (
          <p className="text-xs text-muted-foreground">{t('datasets.tokenizer', { name: tokenizer })}</p>
        ) : null}
      </CardHeader>
      <CardContent className="space-y-4">
        <div className="grid grid-cols-2 gap-2 sm:grid-cols-4" data-testid="stats">
          <Stat label={t('datasets.statRows')} value={n(stats.rows)} testId="stat-rows" />
          <Stat label={t('datasets.statTurns')} value={`${n(stats.turns.p50)} / ${n(stats.turns.max)}`} />
          <Stat label={t('datasets.statDuplicates')} value={n(stats.duplicates.count)} />
          <Stat label={t('datasets.statNearEmpty')} value={n(stats.nearEmpty.count)} />
          {tokens ? (
            <>
              <Stat label={t('datasets.statTokensP50')} value={n(tokens.p50)} testId="stat-p50" />
              <Stat label={t('datasets.statTokensP95')} value={n(tokens.p95)} testId="stat-p95" />
              <Stat label={t('datasets.statTokensMax')} value={n(tokens.max)} testId="stat-max" />
              <Stat
                label={t('datasets.statOverCutoff', { cutoff: tokens.cutoffLen })}
                value={n(tokens.overCutoff)}
                testId="stat-over"
              />
            </>
          ) : null}
        </div>
        {stats.pairTokens ? (
          <table className="w-full text-sm" data-testid="pair-tokens">
            <caption className="mb-2 text-left text-xs font-medium text-muted-foreground">
              {t('datasets.pairTokensTitle')}
            </caption>
            <thead className="text-xs text-muted-foreground">
              <tr>
                <th className="text-left font-normal" />
                <th className="text-right font-normal">{t('datasets.statTokensP50')}</th>
                <th className="text-right font-normal">{t('datasets.statTokensP95')}</th>
                <th className="text-right font-normal">{t('datasets.statTokensMax')}</th>
              </tr>
            </thead>
            <tbody className="tabular-nums">
              {(['prompt', 'chosen', 'rejected'] as const).map((part) => {
                const d = stats.pairTokens?.[part];
                return (
                  <tr key={part} data-testid={`pair-tokens-${part}`}>
                    <th className="text-left font-normal">{t(`datasets.pair.${part}`)}</th>
                    <td className="text-right">{n(d?.p50)}</td>
                    <td className="text-right">{n(d?.p95)}</td>
                    <td className="text-right">{n(d?.max)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        {stats.labels && stats.labels.desirable + stats.labels.undesirable > 0 ? (
          <p className="text-sm" data-testid="kto-labels">
            {t('datasets.ktoLabels', { good: n(stats.labels.desirable), bad: n(stats.labels.undesirable) })}
          </p>
        ) : null}
        {tokens ? (
          <figure aria-label={t('datasets.histogram')} className="h-56">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart
                data={tokens.histogram.map((b, i, all) => ({
                  range: binLabel(b, i === all.length - 1),
                  count: b.count,
                }))}
              >
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="range" tick={{ fontSize: 10 }} />
                <YAxis allowDecimals={false} tick={{ fontSize: 10 }} />
                <Tooltip />
                <Bar dataKey="count" name={t('datasets.statRows')} fill="#4f46e5" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </figure>
        ) : null}
      </CardContent>
    </Card>
  );
}
