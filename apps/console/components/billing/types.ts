/** Shapes of the billing API answers (lib/server/routes/billing.ts); amounts are decimal strings. */
export const CATEGORIES = ['training', 'inference', 'deployment', 'storage'] as const;
export type TCategory = (typeof CATEGORIES)[number];

export type TDay = { day: string; total: string } & Record<TCategory, string>;
/** `name`: the member's name and e-mail, the deployment's, job's or model's name (null: not found in this workspace). */
type TBreakdownRow = { key: string; name?: string | null; amount: string; lines: number };
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
  /** Whether budget alerts can be e-mailed (SMTP_URL is set). */
  mailConfigured?: boolean;
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
  createdAt?: string;
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

/**
 * When a price list took effect, for people: the seeded default list applies from the epoch (so it prices any past
 * usage), which read "In effect from Jan 1, 1970"; it says since the instance was installed (its creation) instead.
 */
export function effectiveOf(l: Pick<TPriceList, 'effectiveFrom' | 'createdAt'>): {
  kind: 'since' | 'sinceInstall';
  date: string | null;
} {
  const from = new Date(l.effectiveFrom);
  if (from.getTime() <= 0) return { kind: 'sinceInstall', date: l.createdAt ?? null };
  return { kind: 'since', date: l.effectiveFrom };
}

/** The unit a price is quoted in, as said under it: deployments are priced per hour and billed by the minute. */
export const BILLED_BY_THE_MINUTE = new Set(['deployment_hours']);
