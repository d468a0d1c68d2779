// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestDatabase, stopTestDatabase } from './helpers';

// A key prefix of our own, so other tests' (and real workers') heartbeats do not show up here.
const PREFIX = `crucible-test-health-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  process.env.REDIS_PREFIX = PREFIX;
  await startTestDatabase();
}, 60_000);

afterAll(async () => {
  const jobs = await import('@crucible/jobs');
  const redis = jobs.getRedisConnection();
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  await jobs.closeRedisConnection();
  await stopTestDatabase();
});

describe('GET /api/health', () => {
  it('answers 200 with database and Redis ok against the real services', async () => {
    const res = await call('GET', '/api/health');
    expect(res.body.database.status).toBe('ok');
    expect(res.body.redis.status).toBe('ok');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.storage).toHaveProperty('status');
    expect(res.body.workers).toMatchObject({ count: expect.any(Number), list: expect.any(Array) });
  });

  it('lists a worker that wrote a heartbeat, and forgets it once the heartbeat expires', async () => {
    const jobs = await import('@crucible/jobs');
    const redis = jobs.getRedisConnection();
    const now = new Date().toISOString();
    await jobs.writeHeartbeat(
      redis,
      PREFIX,
      {
        kind: 'trainer',
        workerId: 'w-1',
        queue: 'training',
        pid: 1,
        hostname: 'test',
        status: 'running',
        concurrency: 1,
        activeJobs: [],
        startedAt: now,
        updatedAt: now,
      },
      1,
    );
    const res = await call('GET', '/api/health');
    expect(res.body.workers).toMatchObject({ status: 'ok' });
    expect(res.body.workers.list).toEqual([expect.objectContaining({ kind: 'trainer', workerId: 'w-1' })]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await call('GET', '/api/health')).body.workers.list).toEqual([]);
  });

  it('answers 503 when Redis does not answer', async () => {
    const { createHealthHandler, defaultHealthChecks } = await import('../../lib/server/routes/health');
    const { redisCheckFor } = await import('../../lib/server/health-deps');
    // A real connection attempt to a port nothing listens on, not a stub.
    const handler = createHealthHandler({ ...defaultHealthChecks, redis: redisCheckFor('redis://127.0.0.1:1') });
    const res = await handler(new Request('http://localhost:3000/api/health'));
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.redis.status).toBe('error');
    expect(body.database.status).toBe('ok');
  });
});
