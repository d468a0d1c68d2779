import { randomUUID } from 'node:crypto';
import { disconnectAll, storeRequestContent } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { closeQueues, createRedisConnection, getQueue, QUEUE_NAMES, type TWorkerRuntime } from '@crucible/jobs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeHousekeepingContext } from '../src/context';
import { scheduleRequestLogExpiry } from '../src/request-logs';
import { startHousekeepingRuntime } from './helpers';

/**
 * Request-log retention (issue 16): the shared repeatable `request-logs.expire` job, through real Redis and a fresh
 * Postgres database, deletes the kept messages and answers whose retention ran out — and nothing else.
 */

let db: TTestDatabase;
let runtime: TWorkerRuntime | null = null;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
});

afterAll(async () => {
  await runtime?.closeRuntime({ graceMs: 0 });
  await closeQueues();
  closeHousekeepingContext();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
});

it('deletes kept requests past their retention on its schedule, keeping younger ones and every metering row', async () => {
  const ws = await db.prisma.workspace.create({ data: { name: 'Logs', slug: 'logs' } });
  const day = 86_400_000;
  // Kept 8 days ago for 7 days (expired), 2 days ago for 7 days (not), 31 days ago for the default 30 (expired).
  const kept = [
    { id: 'chatcmpl-old', ageDays: 8, retentionDays: 7 },
    { id: 'chatcmpl-young', ageDays: 2, retentionDays: 7 },
    { id: 'chatcmpl-stored', ageDays: 31, retentionDays: 30 },
  ];
  for (const k of kept) {
    const at = new Date(Date.now() - k.ageDays * day);
    await db.prisma.requestLog.create({
      data: {
        id: k.id,
        workspaceId: ws.id,
        model: 'm',
        endpoint: '/v1/chat/completions',
        statusCode: 200,
        createdAt: at,
      },
    });
    await storeRequestContent({
      requestId: k.id,
      workspaceId: ws.id,
      source: 'deployment',
      messages: [{ role: 'user', content: `hello ${k.id}` }],
      answer: 'hi',
      retentionDays: k.retentionDays,
      now: at,
    });
  }
  runtime = await startHousekeepingRuntime(prefix);
  const completed = new Promise<void>((resolve) => runtime?.worker.on('completed', () => resolve()));
  await scheduleRequestLogExpiry(600_000, { prefix });
  await scheduleRequestLogExpiry(600_000, { prefix });
  expect(await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJobSchedulersCount()).toBe(1);
  await completed; // the scheduler's first run is at once
  const left = await db.prisma.requestLogContent.findMany({ select: { requestId: true } });
  expect(left.map((r) => r.requestId)).toEqual(['chatcmpl-young']);
  // The requests themselves stay: deployment stats and billing read them.
  expect(await db.prisma.requestLog.count({ where: { workspaceId: ws.id } })).toBe(3);
}, 60_000);
