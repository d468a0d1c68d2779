/**
 * Budget alert e-mails end to end: budgets checked as the billing job does, mails sent by nodemailer over SMTP to a
 * real SMTP server (smtp-server) on a local port, the outbox state read back from a fresh Postgres database.
 */
import { appendUsage } from '@crucible/db';
import { upsertBudgetRow } from '@crucible/db/billing';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  budgetStatus,
  checkAllBudgetAlerts,
  createSmtpMailer,
  deliverBudgetAlerts,
  loadMailEnv,
  NO_SMTP_REASON,
  NOTIFY_MAX_ATTEMPTS,
  type TMailer,
} from '../src/index';
import { startTestSmtp, type TTestSmtp } from './smtp';

let db: TTestDatabase;
let ws: { id: string; slug: string };
const NOW = new Date('2026-12-04T12:00:00Z');
const APP_URL = 'http://console.example:3000';
const people = {
  owner: { email: 'olga.owner@example.com', name: 'Olga', locale: 'en', role: 'owner' },
  admin: { email: 'ari.admin@example.com', name: '阿里', locale: 'zh-CN', role: 'admin' },
  both: { email: 'dana.dual@example.com', name: 'Dana', locale: 'en', role: 'developer,admin' },
  developer: { email: 'dev@example.com', name: 'Dev', locale: 'en', role: 'developer' },
  viewer: { email: 'vic@example.com', name: 'Vic', locale: 'en', role: 'viewer' },
};
const ADMINS = [people.owner.email, people.admin.email, people.both.email].sort();

let spendCounter = 0;
async function spend(workspaceId: string, amount: string) {
  spendCounter += 1;
  await appendUsage(
    {
      workspaceId,
      category: 'training',
      meter: 'training_tokens',
      quantity: '1',
      unit: '1K tokens',
      amount,
      currency: 'USD',
      idempotencyKey: `test-spend-${spendCounter}`,
      occurredAt: new Date(NOW.getTime() - 3_600_000),
    },
    db.prisma,
  );
}

async function makeWorkspace(name: string, slug: string, members: (typeof people)[keyof typeof people][]) {
  const w = await db.prisma.workspace.create({ data: { name, slug } });
  for (const p of members) {
    const user = await db.prisma.user.upsert({
      where: { email: p.email },
      create: { email: p.email, name: p.name, locale: p.locale },
      update: {},
    });
    await db.prisma.member.create({ data: { organizationId: w.id, userId: user.id, role: p.role } });
  }
  return w;
}

const alerts = (workspaceId: string) =>
  db.prisma.budgetAlert.findMany({ where: { workspaceId }, orderBy: { threshold: 'asc' } });
const to = (smtp: TTestSmtp, email: string) => smtp.received.filter((m) => m.to.includes(email));

function mailerFor(smtp: TTestSmtp): TMailer {
  const mailer = createSmtpMailer(
    loadMailEnv({ SMTP_URL: smtp.url, MAIL_FROM: 'Crucible Billing <billing@example.com>' }),
  );
  if (!mailer) throw new Error('no mailer');
  return mailer;
}

const deliver = (mailer: TMailer | null, now = NOW) =>
  deliverBudgetAlerts({ mailer, appUrl: APP_URL, now, db: db.prisma });

beforeAll(async () => {
  db = await createTestDatabase();
  ws = await makeWorkspace('Research', 'research', Object.values(people));
  await upsertBudgetRow(
    ws.id,
    { amount: '10', currency: 'USD', thresholds: [50, 80, 100], hardLimit: true },
    db.prisma,
  );
  await spend(ws.id, '8.5');
});

afterAll(async () => {
  await db?.drop();
});

describe('mail settings', () => {
  it('validates SMTP_URL and MAIL_FROM with a sentence, and defaults the sender', () => {
    expect(loadMailEnv({})).toEqual({
      SMTP_URL: undefined,
      MAIL_FROM: 'Crucible <crucible@localhost>',
      APP_URL: 'http://localhost:3000',
    });
    expect(loadMailEnv({ SMTP_URL: ' ', MAIL_FROM: '' }).SMTP_URL).toBeUndefined();
    expect(loadMailEnv({ SMTP_URL: 'smtps://u:p@mail.example.com:465' }).SMTP_URL).toBe(
      'smtps://u:p@mail.example.com:465',
    );
    expect(() => loadMailEnv({ SMTP_URL: 'http://mail.example.com' })).toThrow(/SMTP_URL must be an smtp:\/\//);
    expect(() => loadMailEnv({ MAIL_FROM: 'Crucible' })).toThrow(/MAIL_FROM must be an address/);
    expect(createSmtpMailer(loadMailEnv({}))).toBeNull();
  });
});

describe('budget alert e-mails over SMTP', () => {
  let smtp: TTestSmtp;
  let mailer: TMailer;
  beforeAll(async () => {
    smtp = await startTestSmtp();
    mailer = mailerFor(smtp);
  });
  afterAll(async () => {
    mailer?.close();
    await smtp?.close();
  });

  it('mails each owner and admin once per alert (not developers or viewers), and records who got it', async () => {
    const checked = await checkAllBudgetAlerts(NOW, db.prisma);
    expect(checked.created.map((a) => a.threshold)).toEqual([50, 80]);
    // the admin's mailbox refuses RCPT at first: everyone else gets theirs, the row keeps the error
    smtp.refuse.add(people.admin.email);
    const first = await deliver(mailer);
    expect(first).toMatchObject({ sent: 0, retrying: 2, messages: 4 });
    expect(smtp.received.map((m) => m.to)).toEqual(expect.arrayContaining([[people.owner.email], [people.both.email]]));
    expect(to(smtp, people.admin.email)).toHaveLength(0);
    for (const a of await alerts(ws.id)) {
      expect(a.notifyStatus).toBe('pending');
      expect(a.notifyAttempts).toBe(1);
      expect([...a.recipients].sort()).toEqual([people.both.email, people.owner.email].sort());
      expect(a.notifyError).toContain(people.admin.email);
      expect(a.notifyError).toMatch(/550|unavailable/);
      expect(a.notifiedAt).toBeNull();
    }

    // next run, mailbox fixed; two senders at once (two serving workers) still mail each address once
    smtp.refuse.clear();
    const [x, y] = await Promise.all([deliver(mailer), deliver(mailer)]);
    expect(x.messages + y.messages).toBe(2);
    for (const a of await alerts(ws.id)) {
      expect(a.notifyStatus).toBe('sent');
      expect([...a.recipients].sort()).toEqual(ADMINS);
      expect(a.notifyError).toBeNull();
      expect(a.notifiedAt?.toISOString()).toBe(NOW.toISOString());
    }
    // exactly one message per admin and alert, none for the developer or the viewer
    for (const email of ADMINS) expect(to(smtp, email)).toHaveLength(2);
    expect(to(smtp, people.developer.email)).toHaveLength(0);
    expect(to(smtp, people.viewer.email)).toHaveLength(0);
    expect(smtp.received).toHaveLength(6);
    expect(smtp.received.every((m) => m.from === 'billing@example.com' && m.to.length === 1)).toBe(true);

    // a third run sends nothing
    expect(await deliver(mailer)).toEqual({ sent: 0, retrying: 0, failed: 0, skipped: 0, messages: 0 });
    expect(smtp.received).toHaveLength(6);
  });

  it('writes the subject, amounts, month and link in the recipient’s language', () => {
    const owner80 = to(smtp, people.owner.email).find((m) => m.subject.includes('80%'));
    expect(owner80?.subject).toBe('[Crucible] Research has used 80% of its monthly budget');
    const body = owner80?.raw.replace(/=\r?\n/g, '') ?? '';
    expect(body).toContain('$8.50 of $10.00');
    expect(body).toContain('December 2026');
    expect(body).toContain(`${APP_URL}/w/research/billing`);
    expect(body).not.toContain('hard limit'); // only the 100% alert says new work is refused
    const admin80 = to(smtp, people.admin.email).find((m) => m.subject.includes('80%'));
    expect(admin80?.subject).toBe('[Crucible] Research 已用去本月预算的 80%');
  });

  it('shows the delivery on the budget status the console reads', async () => {
    const status = await budgetStatus(ws.id, NOW, db.prisma);
    expect(status?.alerts.map((a) => a.notification)).toEqual([
      {
        status: 'sent',
        skipped: null,
        recipients: expect.arrayContaining(ADMINS),
        attempts: 2,
        notifiedAt: NOW.toISOString(),
        error: null,
      },
      {
        status: 'sent',
        skipped: null,
        recipients: expect.arrayContaining(ADMINS),
        attempts: 2,
        notifiedAt: NOW.toISOString(),
        error: null,
      },
    ]);
  });

  it('records a send failure when the server is down and retries on the next run', async () => {
    await spend(ws.id, '2');
    const later = new Date(NOW.getTime() + 600_000);
    expect((await checkAllBudgetAlerts(later, db.prisma)).created.map((a) => a.threshold)).toEqual([100]);
    const down = await startTestSmtp();
    const downMailer = mailerFor(down);
    await down.close(); // nothing listens on its port any more
    const failed = await deliver(downMailer, later);
    downMailer.close();
    expect(failed).toMatchObject({ retrying: 1, messages: 0 });
    const [a100] = (await alerts(ws.id)).filter((a) => a.threshold === 100);
    expect(a100).toMatchObject({ notifyStatus: 'pending', notifyAttempts: 1, recipients: [] });
    expect(a100.notifyError).toMatch(/ECONNREFUSED/);

    const before = smtp.received.length;
    expect(await deliver(mailer, new Date(later.getTime() + 300_000))).toMatchObject({ sent: 1, messages: 3 });
    const fresh = smtp.received.slice(before);
    expect(fresh.map((m) => m.to[0]).sort()).toEqual(ADMINS);
    const body = fresh.find((m) => m.to[0] === people.owner.email)?.raw.replace(/=\r?\n/g, '') ?? '';
    expect(body).toContain('hard limit');
    expect(await deliver(mailer, new Date(later.getTime() + 600_000))).toMatchObject({ messages: 0 });
  });

  it(`gives up after ${NOTIFY_MAX_ATTEMPTS} failed attempts (marked failed, no more retries)`, async () => {
    const w = await makeWorkspace('Flaky', 'flaky', [people.owner]);
    await upsertBudgetRow(w.id, { amount: '1', currency: 'USD', thresholds: [100], hardLimit: false }, db.prisma);
    await spend(w.id, '1');
    await checkAllBudgetAlerts(NOW, db.prisma);
    await db.prisma.budgetAlert.updateMany({
      where: { workspaceId: w.id },
      data: { notifyAttempts: NOTIFY_MAX_ATTEMPTS - 1 },
    });
    smtp.refuse.add(people.owner.email);
    try {
      expect(await deliver(mailer)).toMatchObject({ failed: 1 });
    } finally {
      smtp.refuse.clear();
    }
    const [a] = await alerts(w.id);
    expect(a).toMatchObject({ notifyStatus: 'failed', notifyAttempts: NOTIFY_MAX_ATTEMPTS });
    expect(await deliver(mailer)).toMatchObject({ messages: 0 });
  });

  it('without SMTP_URL marks the alert skipped with the reason, once: no retries, no mail later', async () => {
    const w = await makeWorkspace('Quiet', 'quiet', [people.owner]);
    await upsertBudgetRow(w.id, { amount: '1', currency: 'USD', thresholds: [50], hardLimit: false }, db.prisma);
    await spend(w.id, '1');
    await checkAllBudgetAlerts(NOW, db.prisma);
    expect(await deliver(null)).toMatchObject({ skipped: 1, messages: 0 });
    const [a] = await alerts(w.id);
    expect(a).toMatchObject({ notifyStatus: 'skipped', notifyError: NO_SMTP_REASON, notifyAttempts: 0 });
    const before = smtp.received.length;
    expect(await deliver(mailer)).toMatchObject({ skipped: 0, messages: 0 });
    expect(smtp.received).toHaveLength(before);
    // the alert itself is still there for the console and the audit log
    expect((await budgetStatus(w.id, NOW, db.prisma))?.alerts[0].notification).toMatchObject({
      status: 'skipped',
      skipped: 'no_smtp',
    });
    expect(await db.prisma.auditLog.count({ where: { workspaceId: w.id, action: 'budget.alert' } })).toBe(1);
  });
});
