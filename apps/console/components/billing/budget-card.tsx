'use client';

import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatDate } from '@/lib/utils';
import { formatMoney, type TAlertNotification, type TBudgetStatus } from './types';

/** The monthly budget with its alert state; workspace admins set the amount, currency and hard limit. */
export function BudgetCard({
  status,
  mailConfigured = true,
  onChange,
}: {
  status: TBudgetStatus;
  /** False when the instance has no SMTP_URL: a pending alert is then recorded only, never e-mailed. */
  mailConfigured?: boolean;
  onChange: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const isAdmin = workspace.role === 'admin' || workspace.role === 'owner';
  const [amount, setAmount] = React.useState(status?.budget.amount ?? '');
  const [currency, setCurrency] = React.useState(status?.budget.currency ?? 'USD');
  const [hardLimit, setHardLimit] = React.useState(status?.budget.hardLimit ?? false);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const path = `/api/workspaces/${workspace.slug}/billing/budget`;

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api(path, {
        method: 'PUT',
        body: { amount: amount.trim(), currency, hardLimit, thresholds: [50, 80, 100] },
      });
      onChange();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    try {
      await api(path, { method: 'DELETE' });
      onChange();
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card data-testid="billing-budget" data-exceeded={status?.exceeded ? 'true' : 'false'}>
      <CardHeader className="pb-2">
        <CardTitle className="text-sm">{t('billing.budget.title')}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3 text-sm">
        {status ? (
          <>
            <div className="flex flex-wrap items-center gap-2">
              <span>
                {t('billing.budget.spent', {
                  spent: formatMoney(status.spent, status.budget.currency, locale),
                  amount: formatMoney(status.budget.amount, status.budget.currency, locale),
                  percent: status.percent,
                })}
              </span>
              {status.exceeded ? <Badge variant="destructive">{t('billing.budget.exceeded')}</Badge> : null}
            </div>
            <div className="h-2 w-full overflow-hidden rounded bg-muted">
              <div
                className={status.exceeded ? 'h-full bg-destructive' : 'h-full bg-primary'}
                style={{ width: `${Math.min(status.percent, 100)}%` }}
              />
            </div>
            {status.alerts.map((a) => (
              <div key={a.threshold} className="grid gap-0.5">
                <div data-testid="billing-alert" className="text-amber-600 dark:text-amber-400">
                  {t('billing.budget.alert', { threshold: a.threshold })}
                </div>
                <AlertMail n={a.notification} mailConfigured={mailConfigured} />
              </div>
            ))}
            {status.budget.hardLimit ? (
              <div className="text-muted-foreground">{t('billing.budget.hardLimit')}</div>
            ) : null}
          </>
        ) : (
          <div className="text-muted-foreground">{t('billing.budget.none')}</div>
        )}
        {isAdmin ? (
          <form onSubmit={save} className="grid gap-2 sm:grid-cols-[1fr_auto_auto] sm:items-end">
            <div className="grid gap-1">
              <Label htmlFor="budget-amount">{t('billing.budget.amount')}</Label>
              <Input
                id="budget-amount"
                inputMode="decimal"
                value={amount}
                onChange={(e) => setAmount(e.target.value)}
                required
              />
            </div>
            <div className="grid gap-1">
              <Label htmlFor="budget-currency">{t('billing.budget.currency')}</Label>
              <select
                id="budget-currency"
                className="h-9 rounded-md border bg-background px-2"
                value={currency}
                onChange={(e) => setCurrency(e.target.value)}
              >
                {['USD', 'CNY'].map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </div>
            <Button type="submit" loading={busy}>
              {t('billing.budget.save')}
            </Button>
            <label className="flex items-center gap-2 sm:col-span-3">
              <input type="checkbox" checked={hardLimit} onChange={(e) => setHardLimit(e.target.checked)} />
              {t('billing.budget.hardLimit')}
            </label>
            {error ? <div className="text-destructive sm:col-span-3">{error}</div> : null}
            {status ? (
              <Button type="button" variant="ghost" className="justify-self-start" onClick={remove} disabled={busy}>
                {t('billing.budget.remove')}
              </Button>
            ) : null}
          </form>
        ) : (
          <div className="text-muted-foreground">{t('billing.budget.adminOnly')}</div>
        )}
      </CardContent>
    </Card>
  );
}

/** One line under an alert: e-mailed to whom and when, queued, retrying, given up, or why it was not sent. */
function AlertMail({ n, mailConfigured }: { n: TAlertNotification; mailConfigured: boolean }) {
  const t = useT();
  const locale = useLocale();
  const recipients = n.recipients.join(', ');
  let text: string;
  if (n.status === 'sent') text = t('billing.alertMail.sent', { recipients, date: formatDate(n.notifiedAt, locale) });
  else if (n.status === 'failed') text = t('billing.alertMail.failed', { attempts: n.attempts, error: n.error ?? '' });
  else if (n.status === 'skipped')
    text =
      n.skipped === 'no_smtp'
        ? t('billing.alertMail.noSmtp')
        : n.skipped === 'no_recipients'
          ? t('billing.alertMail.noRecipients')
          : t('billing.alertMail.skipped', { reason: n.error ?? '' });
  else if (n.error)
    text = n.recipients.length
      ? t('billing.alertMail.partial', { recipients, error: n.error })
      : t('billing.alertMail.retrying', { error: n.error });
  // Without SMTP the next billing run marks it skipped; until then "queued" would promise an e-mail that never comes.
  else text = mailConfigured ? t('billing.alertMail.pending') : t('billingNames.alertNotConfigured');
  return (
    <div data-testid="billing-alert-mail" data-status={n.status} className="text-xs break-words text-muted-foreground">
      {text}
    </div>
  );
}
