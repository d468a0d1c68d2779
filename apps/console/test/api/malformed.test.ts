// @vitest-environment node
/**
 * Malformed input is the caller's mistake, answered 400 naming the field, never a 5xx (issue 11, findings 9 and 11).
 * URLs with bad percent-encoding or NUL bytes are the front door's (test/frontdoor.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletions } from '../../lib/server/gateway/handlers';
import { createFile } from '../../lib/server/routes/files';
import { useTestStorage } from './datasets-helpers';
import { APP_URL, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

let owner: TCaller;
let key = '';
const p = { slug: 'malformed' };

beforeAll(async () => {
  useTestStorage();
  await startTestDatabase();
  owner = await signUp('malformed');
  await makeWorkspace(owner, 'malformed');
  key = (await call('POST', '/api/workspaces/[slug]/api-keys', { caller: owner, params: p, body: { name: 'k' } })).body
    .key;
}, 60_000);

afterAll(stopTestDatabase);

describe('malformed input', () => {
  it('a budget of 10^38 is a 400 naming amount (it overflowed the column: Prisma P2020, a 500)', async () => {
    const res = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
      caller: owner,
      params: p,
      body: { amount: '1'.padEnd(39, '0'), currency: 'USD' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'amount' });
    const ok = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
      caller: owner,
      params: p,
      body: { amount: '9999999999999.99', currency: 'USD' },
    });
    expect(ok.status).toBe(200);
  });

  it('a NUL character in a JSON body is a 400 naming the field (Postgres refuses 0x00 in text: it was a 500)', async () => {
    const res = await call('POST', '/api/workspaces/[slug]/datasets', {
      caller: owner,
      params: p,
      body: { name: 'trap\u0000name' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param: 'name' });
  });

  it('a NUL byte in a multipart file name is a 400 naming file', async () => {
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file', new Blob(['{"messages":[]}\n'], { type: 'application/jsonl' }), 'a\u0000b.jsonl');
    const res = await createFile(
      new Request(`${APP_URL}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form }),
      {},
    );
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ type: 'invalid_request_error', param: 'file' });
  });

  it('a json_schema nested 100,000 levels is a 400 naming it (it overflowed the stack: a 503 "no serving worker")', async () => {
    // Written as text: building it as an object and stringifying it would overflow this test's own stack.
    const schema = `${'{"type":"array","items":'.repeat(100_000)}{"type":"string"}${'}'.repeat(100_000)}`;
    const res = await chatCompletions(
      new Request(`${APP_URL}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: `{"model":"x","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":${schema}}}}`,
      }),
      {},
    );
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'response_format.json_schema.schema',
    });
  });

  it('a body that is not JSON by its content type is a 415 (text/plain was parsed as JSON)', async () => {
    for (const type of ['text/plain', 'application/xml']) {
      const res = await call('POST', '/api/workspaces/[slug]/datasets', {
        caller: owner,
        params: p,
        body: { name: 'plain' },
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(415);
      expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', param: 'content-type' });
    }
  });

  it('an API key that would expire in the past is refused, naming expiresAt (it was stored as never expiring)', async () => {
    const past = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: p,
      body: { name: 'old', expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(past.status).toBe(400);
    expect(past.body.error).toMatchObject({ param: 'expiresAt' });
    const future = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: p,
      body: { name: 'soon', expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    expect(future.status).toBe(201);
    expect(new Date(future.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
  });
});
