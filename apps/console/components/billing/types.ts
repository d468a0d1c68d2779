/** Shapes of the billing API answers (lib/server/routes/billing.ts); amounts are decimal strings. */
export const CATEGORIES = ['training', 'inference', 'deployment', 'storage'] as const;
export type TCategory = (typeof CATEGORIES)[number];

export type TDay = { day: string; total: string } & Record<TCategory, string>;
export type TBreakdownRow = { key: string; amount: string; lines: number };
export type TBudgetStatus = {
  budget: { id: string; amount: string; currency: string; thresholds: number[]; hardLimit: boolean };
  spent: string;
  percent: number;
  exceeded: boolean;
  alerts: { threshold: number; spent: string; at: string; notification: TAlertNotification }[];
} | null;

/** Whether a budget alert was e-mailed to the workspace's owners and admins (@crucible/billing notify.ts). */
export type TAlertNotification = {
  status: 'pending' | 'sent' | 'failed' | 'skipped';
  skipped: 'no_smtp' | 'no_recipients' | 'other' | null;
  recipients: string[];
  attempts: number;
  notifiedAt: string | null;
  error: string | null;
};

export type TSummary = {
  from: string;
  to: string;
  currency: string;
  totals: { byCategory: Record<TCategory, string>; byCurrency: Record<string, string>; lines: number };
  monthToDate: { currency: string; amount: string; forecast: string };
  daily: TDay[];
  breakdowns: Record<'model' | 'job' | 'deployment' | 'apiKey' | 'member', TBreakdownRow[]>;
  budget: TBudgetStatus;
};

export type TLine = {
  id: string;
  occurredAt: string;
  category: TCategory;
  meter: string;
  quantity: string;
  unit: string;
  unitPrice: string | null;
  amount: string;
  currency: string;
};

export type TPriceList = {
  id: string;
  name: string;
  scope: 'workspace' | 'instance';
  currency: string;
  effectiveFrom: string;
  items: {
    id: string;
    meter: string;
    unit: string;
    unitPrice: string;
    modelRef: string | null;
    method: string | null;
    workerClass: string | null;
  }[];
};

/** Display only: the decimal string is what the API and CSV carry. */
export function formatMoney(amount: string, currency: string, locale: string): string {
  const n = Number(amount);
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      maximumFractionDigits: n !== 0 && Math.abs(n) < 1 ? 4 : 2,
    }).format(n);
  } catch {
    return `${amount} ${currency}`;
  }
}
