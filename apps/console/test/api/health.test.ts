// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestDatabase, stopTestDatabase } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

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
