import type { TMoney } from './types';

// Small formatting helpers for the fine-tuning pages (numbers, durations, money) in the user's locale.

export function formatDuration(seconds: number | null | undefined, locale: string): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  // Intl.DurationFormat is not in Node 20; unit number formats give "3 hours 12 minutes" / "3小时12分钟".
  const unit = (value: number, u: 'hour' | 'minute' | 'second') =>
    new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'long' }).format(value);
  const join = locale.startsWith('zh') ? '' : ' ';
  if (h > 0) return [unit(h, 'hour'), unit(m, 'minute')].join(join);
  if (m > 0) return [unit(m, 'minute'), unit(sec, 'second')].join(join);
  return unit(sec, 'second');
}

export function formatMoney(cost: TMoney | string | number | null | undefined, locale: string): string {
  if (cost === null || cost === undefined) return '—';
  const { amount, currency } = typeof cost === 'object' ? cost : { amount: String(cost), currency: 'USD' };
  const value = Number(amount);
  if (!Number.isFinite(value)) return '—';
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: value !== 0 && Math.abs(value) < 0.01 ? 6 : 2,
    }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}

export function formatCompact(value: number | string | null | undefined, locale: string): string {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  if (!Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 2 }).format(n);
}

const SIGNIFICANT = new Intl.NumberFormat('en', { maximumSignificantDigits: 4, useGrouping: false });

/** Loss and learning-rate values: enough significant digits to see a trend, never 17. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(2);
  return SIGNIFICANT.format(value);
}

export function formatHyperparameter(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'number') return formatMetric(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
