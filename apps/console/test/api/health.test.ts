// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

// A key prefix of our own, so other tests' (and real workers') heartbeats do not show up here.
const PREFIX = `crucible-test-health-${process.pid}-${Date.now()}`;

let admin: TCaller;
let member: TCaller;

beforeAll(async () => {
  process.env.REDIS_PREFIX = PREFIX;
  await startTestDatabase();
  const a = await signUp('health-admin');
  const { setInstanceRole } = await import('@crucible/auth');
  await setInstanceRole(a.email, 'admin');
  admin = a;
  member = await signUp('health-member');
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
  it('tells anyone only whether it is up; workers, hosts, PIDs and errors only to instance admins', async () => {
    for (const caller of [undefined, member]) {
      const res = await call('GET', '/api/health', { caller });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['degraded', 'status', 'time']);
      // No worker runs under this test's prefix: the console works, but jobs and chat would not.
      expect(res.body.status).toBe('degraded');
      expect(res.body.degraded.join(' ')).toMatch(/no trainer worker.*no serving worker.*no housekeeping worker/);
      expect(JSON.stringify(res.body)).not.toMatch(/pid|hostname|latency/i);
    }
  });

  it('answers 200 with database and Redis ok against the real services', async () => {
    const res = await call('GET', '/api/health', { caller: admin });
    expect(res.body.database.status).toBe('ok');
    expect(res.body.redis.status).toBe('ok');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('degraded');
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
    const res = await call('GET', '/api/health', { caller: admin });
    expect(res.body.workers).toMatchObject({ status: 'ok' });
    expect(res.body.workers.list).toEqual([
      expect.objectContaining({ kind: 'trainer', workerId: 'w-1', state: 'running' }),
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await call('GET', '/api/health', { caller: admin })).body.workers.list).toEqual([]);
  });

  it('shows a worker whose heartbeat stopped (kill -9) as unresponsive, never running', async () => {
    const jobs = await import('@crucible/jobs');
    const redis = jobs.getRedisConnection();
    const then = new Date(Date.now() - 25_000).toISOString(); // last written 25 s ago; beats every 10 s
    await jobs.writeHeartbeat(
      redis,
      PREFIX,
      {
        kind: 'serving',
        workerId: 'w-dead',
        queue: 'deployments',
        pid: 999_999,
        hostname: 'elsewhere',
        status: 'running',
        concurrency: 1,
        activeJobs: [],
        startedAt: then,
        updatedAt: then,
        intervalMs: 10_000,
      },
      30,
    );
    const res = await call('GET', '/api/health', { caller: admin });
    expect(res.body.workers.list).toEqual([expect.objectContaining({ workerId: 'w-dead', state: 'unresponsive' })]);
    expect(res.body.degraded.join(' ')).toMatch(/no serving worker/);
    await redis.del(jobs.heartbeatKey(PREFIX, 'serving', 'w-dead'));
  });

  it('answers 503 when Redis does not answer', async () => {
    const { createHealthHandler, defaultHealthChecks } = await import('../../lib/server/routes/health');
    const { redisCheckFor } = await import('../../lib/server/health-deps');
    // A real connection attempt to a port nothing listens on, not a stub.
    const handler = createHealthHandler({ ...defaultHealthChecks, redis: redisCheckFor('redis://127.0.0.1:1') });
    const res = await handler(new Request('http://localhost:3000/api/health'));
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'error', failing: ['redis'] });
    expect(body).not.toHaveProperty('redis'); // the error text is for admins
  });
});
