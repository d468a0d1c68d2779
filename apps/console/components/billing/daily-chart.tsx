'use client';

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useLocale, useT } from '@/lib/i18n/client';
import { CATEGORIES, type TCategory, type TDay } from './types';

const COLORS: Record<TCategory, string> = {
  training: '#6366f1',
  inference: '#10b981',
  deployment: '#f59e0b',
  storage: '#64748b',
};

/** Daily spend stacked by category; clicking a bar segment selects that day and category. */
export function DailyChart({
  days,
  currency,
  onSelect,
}: {
  days: TDay[];
  currency: string;
  onSelect: (day: string, category: TCategory) => void;
}) {
  const t = useT();
  const locale = useLocale();
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 4 });
  const data = days.map((d) => ({ day: d.day, ...Object.fromEntries(CATEGORIES.map((c) => [c, Number(d[c])])) }));
  return (
    <ResponsiveContainer width="100%" height="100%">
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
        <XAxis dataKey="day" fontSize={11} tickFormatter={(d: string) => d.slice(5)} />
        <YAxis fontSize={11} width={64} tickFormatter={(v: number) => number.format(v)} />
        <Tooltip
          formatter={(value, name) => [
            `${number.format(Number(value))} ${currency}`,
            t(`billing.category.${name as TCategory}`),
          ]}
        />
        <Legend
          verticalAlign="top"
          height={24}
          iconSize={10}
          formatter={(name) => t(`billing.category.${name as TCategory}`)}
        />
        {CATEGORIES.map((c) => (
          <Bar
            key={c}
            dataKey={c}
            stackId="spend"
            fill={COLORS[c]}
            cursor="pointer"
            onClick={(entry) => onSelect(String((entry as { payload?: { day?: string } }).payload?.day ?? ''), c)}
          />
        ))}
      </BarChart>
    </ResponsiveContainer>
  );
}
