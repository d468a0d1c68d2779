import { randomUUID } from 'node:crypto';
import { loadMailEnv, type TMail, type TMailer } from '@crucible/billing';
import { disconnectAll } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { closeQueues, createRedisConnection, getQueue, QUEUE_NAMES, type TWorkerRuntime } from '@crucible/jobs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { runBillingAccrual, scheduleBillingAccrual } from '../src/billing-accrual';
import { closeHousekeepingContext, configureHousekeeping } from '../src/context';
import { startHousekeepingRuntime } from './helpers';

/**
 * The repeatable `billing.accrue` job on the housekeeping queue, through real Redis and a fresh Postgres database
 * (it lived in the serving worker, on a queue of its own, before issue 17).
 */

type TWorkerLike = { on(event: 'completed', fn: () => void): unknown };
/** The scheduler's first job runs at once; resolves when one of the workers has finished it. */
const firstCompletion = (workers: TWorkerLike[], logs: string[]) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no billing job completed; logs: ${logs.join(' | ')}`)), 15_000);
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    for (const w of workers) w.on('completed', done);
  });

const runtimes: TWorkerRuntime[] = [];
/** A housekeeping worker in this process, its log lines kept in `logs`. */
async function startWorker(prefix: string, logs: string[]) {
  const runtime = await startHousekeepingRuntime(prefix, { log: (_level, message) => logs.push(message) });
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.closeRuntime({ graceMs: 0 })));
  await closeQueues();
  closeHousekeepingContext();
});

let db: TTestDatabase;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const prefix2 = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url; // accrue* use getPrisma(), which reads it
});

afterAll(async () => {
  for (const p of [prefix, prefix2]) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
});

it('charges a running deployment up 2 h 10 min for its 2 complete hours, once, from one shared schedule', async () => {
  const ws = await db.prisma.workspace.create({ data: { name: 'W', slug: 'w' } });
  const replicas = 2;
  const dep = await db.prisma.deployment.create({
    data: {
      workspaceId: ws.id,
      name: 'd',
      replicas,
      status: 'running',
      startedAt: new Date(Date.now() - (2 * 60 + 10) * 60_000),
    },
  });
  const logs: string[] = [];
  configureHousekeeping({ mailer: null, mail: loadMailEnv({ APP_URL: 'http://console.test' }) });
  // two housekeeping workers register the accrual at boot: one scheduler entry between them
  const a = await startWorker(prefix, logs);
  const b = await startWorker(prefix, logs);
  const completed = firstCompletion([a.worker, b.worker], logs);
  await scheduleBillingAccrual(600_000, { prefix });
  await scheduleBillingAccrual(600_000, { prefix });
  expect(await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJobSchedulersCount()).toBe(1);
  // the scheduler's first job runs at once; wait for one of the workers to finish it
  await completed;
  await runBillingAccrual(new Date(), { mailer: null }); // a second run charges nothing again
  const lines = await db.prisma.usageRecord.findMany({
    where: { idempotencyKey: { startsWith: `deployment:${dep.id}:` } },
  });
  const run = Math.floor(dep.startedAt!.getTime() / 1000);
  expect(lines.map((l) => l.idempotencyKey).sort()).toEqual([0, 1].map((n) => `deployment:${dep.id}:${run}:${n}`));
  // default instance list (packages/billing README): deployment 0.5 USD / hour, per replica; the third hour is
  // charged when it completes or, by the minute, when the deployment stops
  const expected = 2 * replicas * 0.5;
  const sum = lines.reduce((s, l) => s + Number(l.amount), 0);
  expect(Math.abs(sum - expected)).toBeLessThan(1e-9);
  expect(logs).toEqual(expect.arrayContaining([expect.stringMatching(/billing: charged 2 deployment hour line\(s\)/)]));
}, 60_000);

it("charges a restarted deployment for its new run too (its hours are not the first run's again)", async () => {
  const ws = await db.prisma.workspace.create({ data: { name: 'R', slug: 'restarted' } });
  const firstStart = new Date(Date.now() - 5 * 3600_000);
  const dep = await db.prisma.deployment.create({
    data: { workspaceId: ws.id, name: 'r', replicas: 1, status: 'running', startedAt: firstStart },
  });
  // The first run: up 1 h 30 min, then stopped: 1 hour and 30 minutes.
  await db.prisma.deployment.update({
    where: { id: dep.id },
    data: { status: 'stopped', stoppedAt: new Date(firstStart.getTime() + 90 * 60_000) },
  });
  await runBillingAccrual(new Date());
  // Restarted 2 h ago (less a minute) and running since: 1 complete hour so far.
  await db.prisma.deployment.update({
    where: { id: dep.id },
    data: { status: 'running', stoppedAt: null, startedAt: new Date(Date.now() - 2 * 3600_000 + 60_000) },
  });
  await runBillingAccrual(new Date());
  await runBillingAccrual(new Date());
  const lines = await db.prisma.usageRecord.findMany({ where: { deploymentId: dep.id } });
  expect(lines.map((l) => Number(l.quantity)).sort()).toEqual([0.5, 1, 1]);
  expect(new Set(lines.map((l) => l.idempotencyKey)).size).toBe(3);
});

it('checks every budget after charging and e-mails the new alerts to owners and admins once, console unopened', async () => {
  const ws = await db.prisma.workspace.create({ data: { name: 'Budgeted', slug: 'budgeted' } });
  for (const [email, role, locale] of [
    ['owner@budgeted.test', 'owner', 'en'],
    ['admin@budgeted.test', 'admin', 'zh-CN'],
    ['dev@budgeted.test', 'developer', 'en'],
  ]) {
    const user = await db.prisma.user.create({ data: { email, name: email.split('@')[0], locale } });
    await db.prisma.member.create({ data: { organizationId: ws.id, userId: user.id, role } });
  }
  await db.prisma.budget.create({ data: { workspaceId: ws.id, amount: '1', currency: 'USD', thresholds: [50, 100] } });
  // three complete hours at 0.5 USD: 1.5 USD against a 1 USD budget, charged by the job itself
  await db.prisma.deployment.create({
    data: { workspaceId: ws.id, name: 'd', status: 'running', startedAt: new Date(Date.now() - 190 * 60_000) },
  });
  const sent: TMail[] = [];
  const mailer: TMailer = { send: async (m) => void sent.push(m), close: () => {} };
  const logs: string[] = [];
  configureHousekeeping({ mailer, mail: loadMailEnv({ APP_URL: 'http://console.test' }) });
  const a = await startWorker(prefix2, logs);
  const completed = firstCompletion([a.worker], logs);
  await scheduleBillingAccrual(600_000, { prefix: prefix2 });
  await completed;
  const alerts = await db.prisma.budgetAlert.findMany({ where: { workspaceId: ws.id }, orderBy: { threshold: 'asc' } });
  expect(alerts.map((x) => [x.threshold, x.notifyStatus, [...x.recipients].sort()])).toEqual([
    [50, 'sent', ['admin@budgeted.test', 'owner@budgeted.test']],
    [100, 'sent', ['admin@budgeted.test', 'owner@budgeted.test']],
  ]);
  expect(sent.map((m) => m.to).sort()).toEqual([
    'admin@budgeted.test',
    'admin@budgeted.test',
    'owner@budgeted.test',
    'owner@budgeted.test',
  ]);
  expect(sent.map((m) => m.subject)).toContain('[Crucible] Budgeted has used 100% of its monthly budget');
  expect(sent.every((m) => m.text.includes('http://console.test/w/budgeted/billing'))).toBe(true);
  expect(logs).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/billing: 4 budget alert mail\(s\) sent, 0 alert\(s\) to retry, 0 given up$/),
    ]),
  );
  // the next run finds nothing new to send
  const again = await runBillingAccrual(new Date(), { mailer, appUrl: 'http://console.test' });
  expect(again.budgets.created).toEqual([]);
  expect(again.mail.messages).toBe(0);
  expect(sent).toHaveLength(4);
}, 60_000);

it('without SMTP_URL records the alert and marks its e-mail skipped with the reason', async () => {
  const ws = await db.prisma.workspace.create({ data: { name: 'Unmailed', slug: 'unmailed' } });
  await db.prisma.budget.create({ data: { workspaceId: ws.id, amount: '0', currency: 'USD', thresholds: [100] } });
  await db.prisma.usageRecord.create({
    data: {
      workspaceId: ws.id,
      category: 'training',
      meter: 'training_tokens',
      quantity: '1',
      unit: '1K tokens',
      amount: '0.01',
      currency: 'USD',
      idempotencyKey: `seed-${ws.id}`,
    },
  });
  const r = await runBillingAccrual(new Date(), { mailer: null, appUrl: 'http://console.test' });
  expect(r.budgets.created.map((x) => x.workspaceId)).toEqual([ws.id]);
  const [alert] = await db.prisma.budgetAlert.findMany({ where: { workspaceId: ws.id } });
  expect(alert.notifyStatus).toBe('skipped');
  expect(alert.notifyError).toMatch(/SMTP_URL is not set/);
});
