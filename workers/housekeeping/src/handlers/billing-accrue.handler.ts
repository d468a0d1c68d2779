import type { TBillingAccruePayload, TJobContext } from '@crucible/jobs';
import { runBillingAccrual } from '../billing-accrual';
import { housekeepingContext } from '../context';

/**
 * `billing.accrue` (repeatable): one billing run with this process's mailer. A failure fails this run only; the next
 * run (every BILLING_ACCRUE_EVERY_MS) does the same work again, idempotently.
 */
export default async function runBillingAccrueJob(_payload: TBillingAccruePayload, ctx: TJobContext) {
  const { mailer, mail } = housekeepingContext();
  const r = await runBillingAccrual(new Date(), { mailer, appUrl: mail.APP_URL });
  if (r.hours.linesCreated) ctx.log(`billing: charged ${r.hours.linesCreated} deployment hour line(s)`);
  if (r.budgets.created.length) ctx.log(`billing: ${r.budgets.created.length} new budget alert(s)`);
  for (const e of r.budgets.errors) ctx.log(`billing: budget check of ${e.workspaceId} failed: ${e.message}`);
  if (r.mail.messages || r.mail.retrying || r.mail.failed)
    ctx.log(
      `billing: ${r.mail.messages} budget alert mail(s) sent, ${r.mail.retrying} alert(s) to retry, ${r.mail.failed} given up`,
    );
  return { linesCreated: r.hours.linesCreated, alertsCreated: r.budgets.created.length, mailsSent: r.mail.messages };
}
