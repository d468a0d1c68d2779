// @vitest-environment node
/**
 * While Postgres is away the API says so: 503 with Retry-After in the API's error shape, never a 500 or a 401 that
 * would sign people out (issue 11, finding 4). A real outage: the test database refuses connections and its open
 * ones are ended.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listModelsV1 } from '../../lib/server/gateway/handlers';
import {
  APP_URL,
  call,
  makeWorkspace,
  PASSWORD,
  signIn,
  signUp,
  startTestDatabase,
  stopTestDatabase,
  type TCaller,
} from './helpers';

let owner: TCaller;
let key = '';
let dbUrl = '';
let email = '';

beforeAll(async () => {
  dbUrl = (await startTestDatabase()).url;
  owner = await signUp('outage');
  email = (owner as { email: string }).email;
  await makeWorkspace(owner, 'outage');
  key = (
    await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: { slug: 'outage' },
      body: { name: 'k' },
    })
  ).body.key;
}, 60_000);

afterAll(stopTestDatabase);

it('answers 503 with Retry-After during a database outage, and works again after it', async () => {
  const { blockDatabase } = await import('@crucible/db/testing');
  const unblock = await blockDatabase(dbUrl);
  try {
    for (const res of [
      await call('GET', '/api/me', { caller: owner }),
      await call('GET', '/api/workspaces/[slug]/datasets', { caller: owner, params: { slug: 'outage' } }),
    ]) {
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.body.error).toMatchObject({ type: 'server_error', code: 'unavailable' });
    }
    // better-auth's own endpoints too (it answers a failed query with a 500 of its own).
    const signin = await signIn(email, PASSWORD);
    expect(signin.status).toBe(503);
    expect(Number(signin.headers.get('retry-after'))).toBeGreaterThan(0);
    const v1 = await listModelsV1(
      new Request(`${APP_URL}/v1/models`, { headers: { authorization: `Bearer ${key}` } }),
      {},
    );
    expect(v1.status).toBe(503);
    expect(Number(v1.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await v1.json()).error).toMatchObject({ type: 'server_error', code: 'unavailable' });
  } finally {
    await unblock();
  }
  expect((await call('GET', '/api/me', { caller: owner })).status).toBe(200);
});
