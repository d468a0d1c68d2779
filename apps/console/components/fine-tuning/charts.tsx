'use client';

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { useT } from '@/lib/i18n/client';
import { formatMetric } from './format';
import type { TMetric } from './types';

type TSeries = { key: keyof TMetric; name: string; color: string };

/**
 * One live line chart over optimizer steps. Animation is off: points arrive every step and an animated redraw
 * would never settle. `data-points` says how many points carry a value (the browser test watches it grow).
 */
function MetricChart({
  title,
  metrics,
  series,
  testId,
}: {
  title: string;
  metrics: TMetric[];
  series: TSeries[];
  testId: string;
}) {
  const t = useT();
  const points = metrics.filter((m) => series.some((s) => typeof m[s.key] === 'number'));
  // A series without a single value (eval loss when there is no validation data) gets no line and no legend entry.
  const shown = series.filter((s) => points.some((m) => typeof m[s.key] === 'number'));
  return (
    <Card data-testid={testId} data-points={points.length}>
      <CardHeader className="pb-2">
        <CardTitle className="text-sm">{title}</CardTitle>
      </CardHeader>
      <CardContent className="h-56 px-2 pb-4">
        {points.length === 0 ? (
          <div className="flex h-full items-center justify-center text-sm text-muted-foreground">
            {t('fineTuning.detail.waitingForMetrics')}
          </div>
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
              <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} fontSize={11} />
              <YAxis
                fontSize={11}
                width={56}
                tickFormatter={(v: number) => formatMetric(v)}
                domain={['auto', 'auto']}
              />
              <Tooltip
                formatter={(value) => formatMetric(typeof value === 'number' ? value : Number(value))}
                labelFormatter={(step) => t('fineTuning.detail.stepLabel', { step: String(step) })}
              />
              {shown.length > 1 ? <Legend verticalAlign="top" height={24} iconSize={10} /> : null}
              {shown.map((s) => (
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

/** A DPO or KTO run logs TRL's rewards: its page charts the margins and the accuracy beside the loss. */
const isPreference = (metrics: TMetric[]) => metrics.some((m) => typeof m['rewards/margins'] === 'number');

export function JobCharts({ metrics }: { metrics: TMetric[] }) {
  const t = useT();
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <MetricChart
        testId="loss-chart"
        title={t('fineTuning.detail.lossChart')}
        metrics={metrics}
        series={[
          { key: 'loss', name: t('fineTuning.detail.loss'), color: 'var(--color-primary, #4f46e5)' },
          { key: 'evalLoss', name: t('fineTuning.detail.evalLoss'), color: '#f59e0b' },
        ]}
      />
      {isPreference(metrics) ? (
        <>
          <MetricChart
            testId="margins-chart"
            title={t('fineTuning.detail.marginsChart')}
            metrics={metrics}
            series={[
              { key: 'rewards/margins', name: t('fineTuning.detail.margins'), color: '#8b5cf6' },
              { key: 'eval_rewards/margins', name: t('fineTuning.detail.evalMargins'), color: '#f59e0b' },
            ]}
          />
          <MetricChart
            testId="accuracy-chart"
            title={t('fineTuning.detail.accuracyChart')}
            metrics={metrics}
            series={[
              { key: 'rewards/accuracies', name: t('fineTuning.detail.accuracy'), color: '#10b981' },
              { key: 'eval_rewards/accuracies', name: t('fineTuning.detail.evalAccuracy'), color: '#f59e0b' },
            ]}
          />
        </>
      ) : null}
      <MetricChart
        testId="lr-chart"
        title={t('fineTuning.detail.lrChart')}
        metrics={metrics}
        series={[{ key: 'lr', name: t('fineTuning.detail.lr'), color: '#0ea5e9' }]}
      />
      <MetricChart
        testId="throughput-chart"
        title={t('fineTuning.detail.throughputChart')}
        metrics={metrics}
        series={[{ key: 'tokensPerSec', name: t('fineTuning.detail.tokensPerSec'), color: '#10b981' }]}
      />
    </div>
  );
}
