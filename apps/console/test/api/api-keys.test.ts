// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

describe('workspace API keys', () => {
  it('shows the key once, stores only its hash, authenticates with it, and records last use', async () => {
    const owner = await signUp('k-owner');
    const ws = await makeWorkspace(owner, 'keys');
    const created = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: { slug: 'keys' },
      body: { name: 'ci' },
    });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^crk_[A-Za-z0-9_-]{40,}$/);
    expect(created.body.start).toBe(key.slice(0, 12));
    expect(created.body.lastUsedAt).toBeNull();

    const { getPrisma } = await import('@crucible/db');
    const row = await getPrisma().apikey.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row.key).not.toContain(key.slice(4));
    expect(row.referenceId).toBe(ws.id);

    const listed = await call('GET', '/api/workspaces/[slug]/api-keys', { caller: owner, params: { slug: 'keys' } });
    expect(listed.body.data).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const viaKey = await call('GET', '/api/workspaces/[slug]/datasets', { caller: { key }, params: { slug: 'keys' } });
    expect(viaKey.status).toBe(200);
    expect(viaKey.body).toEqual({ data: [] });
    const mine = await call('GET', '/api/workspaces', { caller: { key } });
    expect(mine.body.data.map((w: { slug: string }) => w.slug)).toEqual(['keys']);

    const after = await call('GET', '/api/workspaces/[slug]/api-keys', { caller: owner, params: { slug: 'keys' } });
    expect(after.body.data[0].lastUsedAt).not.toBeNull();
  });

  it('prevents a revoked key from authenticating', async () => {
    const owner = await signUp('kr-owner');
    await makeWorkspace(owner, 'revoked-keys');
    const p = { slug: 'revoked-keys' };
    const created = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: p,
      body: { name: 'x' },
    });
    const key = created.body.key;
    expect((await call('GET', '/api/workspaces/[slug]', { caller: { key }, params: p })).status).toBe(200);
    const del = await call('DELETE', '/api/workspaces/[slug]/api-keys/[keyId]', {
      caller: owner,
      params: { ...p, keyId: created.body.id },
    });
    expect(del.status).toBe(200);
    const res = await call('GET', '/api/workspaces/[slug]', { caller: { key }, params: p });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');

    // Both changes are in the audit log, attributed to the owner.
    const { getPrisma } = await import('@crucible/db');
    const lines = await getPrisma().auditLog.findMany({
      where: { targetId: created.body.id },
      orderBy: { createdAt: 'asc' },
    });
    expect(lines.map((l) => [l.action, l.actorUserId])).toEqual([
      ['api_key.create', owner.userId],
      ['api_key.revoke', owner.userId],
    ]);
  });

  it('prevents a bad bearer token from falling back to the session cookie', async () => {
    const owner = await signUp('kb-owner');
    await makeWorkspace(owner, 'bearer-first');
    const res = await call('GET', '/api/workspaces/[slug]', {
      caller: { cookie: owner.cookie, key: 'crk_not-a-real-key-at-all-0000000000' },
      params: { slug: 'bearer-first' },
    });
    expect(res.status).toBe(401);
  });

  it('prevents a key from managing people or keys (keys act as developer)', async () => {
    const owner = await signUp('kp-owner');
    await makeWorkspace(owner, 'key-powers');
    const p = { slug: 'key-powers' };
    const key = (
      await call('POST', '/api/workspaces/[slug]/api-keys', { caller: owner, params: p, body: { name: 'k' } })
    ).body.key;
    expect((await call('GET', '/api/workspaces/[slug]/api-keys', { caller: { key }, params: p })).status).toBe(403);
    expect(
      (await call('POST', '/api/workspaces/[slug]/api-keys', { caller: { key }, params: p, body: { name: 'k2' } }))
        .status,
    ).toBe(403);
    expect((await call('GET', '/api/me', { caller: { key } })).status).toBe(403);
  });

  it('prevents a key of workspace A from reading workspace B (404)', async () => {
    const a = await signUp('ka');
    const b = await signUp('kb');
    await makeWorkspace(a, 'key-a');
    await makeWorkspace(b, 'key-b');
    const key = (
      await call('POST', '/api/workspaces/[slug]/api-keys', {
        caller: a,
        params: { slug: 'key-a' },
        body: { name: 'a' },
      })
    ).body.key;
    expect(
      (await call('GET', '/api/workspaces/[slug]/datasets', { caller: { key }, params: { slug: 'key-b' } })).status,
    ).toBe(404);
  });

  it('lets a developer member use the workspace but not create keys', async () => {
    const owner = await signUp('kd-owner');
    const dev = await signUp('kd-dev');
    await makeWorkspace(owner, 'key-dev');
    await addMember(owner, 'key-dev', dev, 'developer');
    const res = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: dev,
      params: { slug: 'key-dev' },
      body: { name: 'mine' },
    });
    expect(res.status).toBe(403);
  });
});
