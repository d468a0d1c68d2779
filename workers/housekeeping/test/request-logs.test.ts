import { storeRequestContent } from '@crucible/db';
import { getQueue, QUEUE_NAMES } from '@crucible/jobs';
import { expect, it } from 'vitest';
import { scheduleRequestLogExpiry } from '../src/request-logs';
import { choreTestBed } from './helpers';

/**
 * Request-log retention (issue 16): the shared repeatable `request-logs.expire` job, through real Redis and a fresh
 * Postgres database, deletes the kept messages and answers whose retention ran out — and nothing else.
 */

const bed = choreTestBed();

it('deletes kept requests past their retention on its schedule, keeping younger ones and every metering row', async () => {
  const ws = await bed.db.prisma.workspace.create({ data: { name: 'Logs', slug: 'logs' } });
  const day = 86_400_000;
  // Kept 8 days ago for 7 days (expired), 2 days ago for 7 days (not), 31 days ago for the default 30 (expired).
  const kept = [
    { id: 'chatcmpl-old', ageDays: 8, retentionDays: 7 },
    { id: 'chatcmpl-young', ageDays: 2, retentionDays: 7 },
    { id: 'chatcmpl-stored', ageDays: 31, retentionDays: 30 },
  ];
  for (const k of kept) {
    const at = new Date(Date.now() - k.ageDays * day);
    await bed.db.prisma.requestLog.create({
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
  const runtime = await bed.start();
  const completed = new Promise<void>((resolve) => runtime.worker.on('completed', () => resolve()));
  await scheduleRequestLogExpiry(600_000, { prefix: bed.prefix });
  await scheduleRequestLogExpiry(600_000, { prefix: bed.prefix });
  expect(await getQueue(QUEUE_NAMES.housekeeping, { prefix: bed.prefix }).getJobSchedulersCount()).toBe(1);
  await completed; // the scheduler's first run is at once
  const left = await bed.db.prisma.requestLogContent.findMany({ select: { requestId: true } });
  expect(left.map((r) => r.requestId)).toEqual(['chatcmpl-young']);
  // The requests themselves stay: deployment stats and billing read them.
  expect(await bed.db.prisma.requestLog.count({ where: { workspaceId: ws.id } })).toBe(3);
}, 60_000);
