'use client';

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { useLocale, useT } from '@/lib/i18n/client';
import type { TMetricBucket } from './api';

type TSeries = { key: keyof TMetricBucket; name: string; color: string };
type TPoint = TMetricBucket & { time: number };

function TimeChart({
  title,
  points,
  series,
  testId,
  unit,
}: {
  title: string;
  points: TPoint[];
  series: TSeries[];
  testId: string;
  unit?: string;
}) {
  const t = useT();
  const locale = useLocale();
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });
  const full = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  return (
    <Card data-testid={testId} data-points={points.length}>
      <CardHeader className="pb-2">
        <CardTitle className="text-sm">{title}</CardTitle>
      </CardHeader>
      <CardContent className="h-56 px-2 pb-4">
        {points.length === 0 ? (
          <div className="flex h-full items-center justify-center text-sm text-muted-foreground">
            {t('deployments.detail.noTraffic')}
          </div>
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
              <XAxis
                dataKey="time"
                type="number"
                scale="time"
                domain={['dataMin', 'dataMax']}
                tickFormatter={(v: number) => time.format(v)}
                fontSize={11}
              />
              <YAxis fontSize={11} width={56} tickFormatter={(v: number) => number.format(v)} />
              <Tooltip
                formatter={(value) => `${number.format(Number(value))}${unit ? ` ${unit}` : ''}`}
                labelFormatter={(v) => full.format(Number(v))}
              />
              {series.length > 1 ? (
                <Legend verticalAlign="top" height={24} iconSize={10} wrapperStyle={{ fontSize: 12 }} />
              ) : null}
              {series.map((s) => (
                <Line
                  key={String(s.key)}
                  type="monotone"
                  dataKey={s.key as string}
                  name={s.name}
                  stroke={s.color}
                  strokeWidth={2}
                  dot={points.length < 30}
                  connectNulls
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        )}
      </CardContent>
    </Card>
  );
}

/** Requests, tokens and latency (p50/p95) per time bucket, from the deployment's metrics route. */
export function DeploymentCharts({ buckets }: { buckets: TMetricBucket[] }) {
  const t = useT();
  const points: TPoint[] = buckets
    .map((b) => ({ ...b, time: Date.parse(b.bucket) }))
    .filter((b) => Number.isFinite(b.time))
    .sort((a, b) => a.time - b.time);
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <TimeChart
        testId="requests-chart"
        title={t('deployments.detail.requestsChart')}
        points={points}
        series={[{ key: 'requests', name: t('deployments.detail.requests'), color: 'var(--color-primary, #4f46e5)' }]}
      />
      <TimeChart
        testId="tokens-chart"
        title={t('deployments.detail.tokensChart')}
        points={points}
        series={[
          { key: 'promptTokens', name: t('deployments.detail.promptTokens'), color: '#0ea5e9' },
          { key: 'completionTokens', name: t('deployments.detail.completionTokens'), color: '#10b981' },
        ]}
      />
      <TimeChart
        testId="latency-chart"
        title={t('deployments.detail.latencyChart')}
        points={points}
        unit="ms"
        series={[
          { key: 'p50Ms', name: t('deployments.detail.p50'), color: '#6366f1' },
          { key: 'p95Ms', name: t('deployments.detail.p95'), color: '#f59e0b' },
        ]}
      />
    </div>
  );
}
