import { randomUUID } from 'node:crypto';
import { disconnectAll } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { createRedisConnection } from '@crucible/jobs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runBillingAccrual, startBillingAccrual } from '../src/billing-accrual';

/** The repeatable billing job through real Redis and a fresh Postgres database. */

let db: TTestDatabase;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url; // accrue* use getPrisma(), which reads it
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
});

it('charges a deployment up 2 h 10 min for exactly 3 started hours, once, from one shared schedule', async () => {
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
  // two serving workers start the accrual: one scheduler entry between them
  const a = await startBillingAccrual({ connection: redis, prefix, everyMs: 600_000, log: (m) => logs.push(m) });
  const b = await startBillingAccrual({ connection: redis, prefix, everyMs: 600_000, log: (m) => logs.push(m) });
  try {
    expect(await a.queue.getJobSchedulersCount()).toBe(1);
    // the scheduler's first job runs at once; wait for one of the workers to finish it
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no billing job completed; logs: ${logs.join(' | ')}`)), 15_000);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      a.worker.on('completed', done);
      b.worker.on('completed', done);
    });
    await runBillingAccrual(new Date()); // a second run charges nothing again
    const lines = await db.prisma.usageRecord.findMany({
      where: { idempotencyKey: { startsWith: `deployment:${dep.id}:` } },
    });
    expect(lines.map((l) => l.idempotencyKey).sort()).toEqual([0, 1, 2].map((n) => `deployment:${dep.id}:${n}`));
    // default instance list (packages/billing README): deployment 0.5 USD / hour, per replica
    const expected = 3 * replicas * 0.5;
    const sum = lines.reduce((s, l) => s + Number(l.amount), 0);
    expect(Math.abs(sum - expected)).toBeLessThan(1e-9);
  } finally {
    await a.close();
    await b.close();
  }
}, 60_000);
