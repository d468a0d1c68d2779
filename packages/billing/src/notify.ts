/**
 * Budget alert e-mails. Each BudgetAlert row is an outbox entry: the billing.accrue job (workers/housekeeping) calls
 * deliverBudgetAlerts after checking the budgets, which mails every owner and admin of the workspace once per row,
 * in their own language, and records who got it. A failed send keeps the row pending with notifyError and is retried
 * on the next run (only to the addresses that have not received it) until NOTIFY_MAX_ATTEMPTS; without a mailer
 * (no SMTP_URL) the row is marked skipped with the reason, once, so nothing retries in a loop.
 */
import { type BudgetAlert, getPrisma, type TDb } from '@crucible/db';
import {
  addBudgetAlertRecipient,
  claimBudgetAlert,
  findDueBudgetAlerts,
  finishBudgetAlertNotification,
  listWorkspaceAdminRecipients,
} from '@crucible/db/billing';
import type { TMail, TMailer } from './mail';

/** Attempts before a row is given up as failed (one per billing run: 12 × 5 min by default). */
export const NOTIFY_MAX_ATTEMPTS = 12;
/** How long one sender holds a row; longer than a run's worst case (short SMTP timeouts × a few recipients). */
const CLAIM_MS = 10 * 60_000;
export const NO_SMTP_REASON =
  'SMTP_URL is not set on the housekeeping worker, so budget alerts are not e-mailed (set SMTP_URL and MAIL_FROM).';
export const NO_RECIPIENTS_REASON = 'The workspace has no owner or admin to e-mail.';

type TLocale = 'en' | 'zh-CN';
const localeOf = (v: string | null | undefined): TLocale => (v === 'zh-CN' ? 'zh-CN' : 'en');

/** Display only (the amounts stored are decimal strings): 4 decimals below 1, else 2, like the console. */
function money(amount: string, currency: string, locale: TLocale): string {
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

const monthName = (periodStart: Date, locale: TLocale) =>
  new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(periodStart);

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export type TAlertMailInput = {
  workspace: { name: string; slug: string };
  threshold: number;
  spent: string;
  amount: string;
  currency: string;
  hardLimit: boolean;
  periodStart: Date;
  appUrl: string;
  recipient: { email: string; name: string; locale: string | null };
};

/** The alert e-mail for one recipient, in their language (user.locale: en or zh-CN). */
export function budgetAlertMail(m: TAlertMailInput): TMail {
  const locale = localeOf(m.recipient.locale);
  const link = `${m.appUrl.replace(/\/+$/, '')}/w/${encodeURIComponent(m.workspace.slug)}/billing`;
  const spent = money(m.spent, m.currency, locale);
  const amount = money(m.amount, m.currency, locale);
  const month = monthName(m.periodStart, locale);
  const ws = m.workspace.name;
  const blocked = m.hardLimit && m.threshold >= 100;
  const name = m.recipient.name || m.recipient.email;
  const t =
    locale === 'zh-CN'
      ? {
          subject: `[Crucible] ${ws} 已用去本月预算的 ${m.threshold}%`,
          hello: `${name}，您好：`,
          what: `工作空间 ${ws} 已用去 ${month} 月度预算的 ${m.threshold}%：触发提醒时已花费 ${spent}，预算为 ${amount}。`,
          hard: '该预算是硬性上限：在下个月或管理员提高预算之前，新的微调任务和部署将被拒绝。',
          see: '查看费用并调整预算：',
          why: `您收到这封邮件，是因为您是 Crucible 上工作空间 ${ws} 的所有者或管理员。`,
        }
      : {
          subject: `[Crucible] ${ws} has used ${m.threshold}% of its monthly budget`,
          hello: `Hello ${name},`,
          what: `${ws} has used ${m.threshold}% of its monthly budget for ${month}: ${spent} of ${amount} spent when the alert was raised.`,
          hard: 'The budget is a hard limit: new fine-tuning jobs and deployments are refused until next month or until an admin raises the budget.',
          see: 'See the spend and change the budget:',
          why: `You receive this because you are an owner or admin of ${ws} on Crucible.`,
        };
  const paragraphs = [t.hello, t.what, ...(blocked ? [t.hard] : [])];
  const text = `${[...paragraphs, `${t.see} ${link}`, t.why].join('\n\n')}\n`;
  const html = [
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p>${escapeHtml(t.see)} <a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`,
    `<p style="color:#666;font-size:12px">${escapeHtml(t.why)}</p>`,
  ].join('\n');
  return { to: m.recipient.email, subject: t.subject, text, html };
}

export type TDeliveryResult = { sent: number; retrying: number; failed: number; skipped: number; messages: number };

type TDueAlert = Awaited<ReturnType<typeof findDueBudgetAlerts>>[number];

const short = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim().slice(0, 300);

/**
 * Sends every due budget alert (see the file comment). Never throws for a mail problem: it is recorded on the row.
 * `mailer: null` marks due rows skipped with `skippedReason` (default NO_SMTP_REASON).
 */
export async function deliverBudgetAlerts(opts: {
  mailer: TMailer | null;
  appUrl: string;
  now?: Date;
  skippedReason?: string;
  db?: TDb;
}): Promise<TDeliveryResult> {
  const db = opts.db ?? getPrisma();
  const now = opts.now ?? new Date();
  const result: TDeliveryResult = { sent: 0, retrying: 0, failed: 0, skipped: 0, messages: 0 };
  for (const alert of await findDueBudgetAlerts(now, 100, db)) {
    if (!(await claimBudgetAlert(alert.id, now, new Date(now.getTime() + CLAIM_MS), db))) continue;
    try {
      const outcome = await deliverOne(alert, opts, now, db, result);
      result[outcome] += 1;
    } catch (error) {
      // the database failed under us: release the row so the next run tries again
      await finishBudgetAlertNotification(
        alert.id,
        { notifyStatus: 'pending', notifyError: short(error), attempted: true },
        db,
      ).catch(() => undefined);
      result.retrying += 1;
    }
  }
  return result;
}

async function deliverOne(
  alert: TDueAlert,
  opts: { mailer: TMailer | null; appUrl: string; skippedReason?: string },
  now: Date,
  db: TDb,
  result: TDeliveryResult,
): Promise<'sent' | 'retrying' | 'failed' | 'skipped'> {
  const finish = (
    notifyStatus: 'pending' | 'sent' | 'failed' | 'skipped',
    notifyError: string | null,
    attempted = true,
  ) =>
    finishBudgetAlertNotification(
      alert.id,
      { notifyStatus, notifyError, attempted, notifiedAt: notifyStatus === 'sent' ? now : null },
      db,
    );
  if (!opts.mailer) {
    await finish('skipped', opts.skippedReason ?? NO_SMTP_REASON, false);
    return 'skipped';
  }
  const everyone = await listWorkspaceAdminRecipients(alert.workspaceId, db);
  if (everyone.length === 0) {
    await finish('skipped', NO_RECIPIENTS_REASON, false);
    return 'skipped';
  }
  const done = new Set(alert.recipients);
  const errors: string[] = [];
  for (const person of everyone.filter((r) => !done.has(r.email))) {
    const mail = budgetAlertMail({
      workspace: alert.workspace,
      threshold: alert.threshold,
      spent: alert.spent.toFixed(),
      amount: alert.budget.amount.toFixed(),
      currency: alert.budget.currency,
      hardLimit: alert.budget.hardLimit,
      periodStart: alert.periodStart,
      appUrl: opts.appUrl,
      recipient: person,
    });
    try {
      await opts.mailer.send(mail);
    } catch (error) {
      errors.push(`${person.email}: ${short(error)}`);
      continue;
    }
    result.messages += 1;
    await addBudgetAlertRecipient(alert.id, person.email, db);
  }
  if (errors.length === 0) {
    await finish('sent', null);
    return 'sent';
  }
  const givingUp = alert.notifyAttempts + 1 >= NOTIFY_MAX_ATTEMPTS;
  await finish(givingUp ? 'failed' : 'pending', errors.join('; ').slice(0, 1000));
  return givingUp ? 'failed' : 'retrying';
}

/** Why a notification was skipped, as a code the console translates (the sentence stays in `error`). */
function skipCode(a: BudgetAlert): 'no_smtp' | 'no_recipients' | 'other' | null {
  if (a.notifyStatus !== 'skipped') return null;
  if (a.notifyError === NO_SMTP_REASON) return 'no_smtp';
  if (a.notifyError === NO_RECIPIENTS_REASON) return 'no_recipients';
  return 'other';
}

/** What the console shows under an alert: whether, when and to whom it was e-mailed, or why not. */
export function notificationOf(a: BudgetAlert) {
  return {
    status: a.notifyStatus as 'pending' | 'sent' | 'failed' | 'skipped',
    skipped: skipCode(a),
    recipients: a.recipients,
    attempts: a.notifyAttempts,
    notifiedAt: a.notifiedAt?.toISOString() ?? null,
    error: a.notifyError,
  };
}
