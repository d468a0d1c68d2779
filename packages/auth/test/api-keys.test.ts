import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys';

let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const { createTestDatabase } = await import('@crucible/db/testing');
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  drop = db.drop;
}, 60_000);

afterAll(async () => {
  const { disconnectAll } = await import('@crucible/db');
  await disconnectAll();
  await drop?.();
});

describe('hashApiKey', () => {
  it("matches better-auth's api-key plugin hashing (SHA-256, base64url, no padding) via WebCrypto", async () => {
    const key = 'crk_example-key-0123456789';
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
    const b64url = btoa(String.fromCharCode(...digest))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(hashApiKey(key)).toBe(b64url);
  });
});

describe('workspace keys', () => {
  it('verifies a live key, records its use, and refuses it once revoked or expired', async () => {
    const auth = await import('../src/index');
    await auth.createUserWithPassword({ email: 'k@example.com', password: 'password123' });
    const ws = await auth.createWorkspace({ name: 'K', slug: 'k-ws', ownerEmail: 'k@example.com' });
    const created = await auth.createApiKey({ workspaceSlug: 'k-ws', name: 'one' });
    expect(created.key.startsWith('crk_')).toBe(true);

    const verified = await auth.verifyApiKey(created.key);
    expect(verified?.workspaceId).toBe(ws.id);
    expect(verified?.lastUsedAt).toBeInstanceOf(Date);
    expect(await auth.verifyApiKey(`${created.key}x`)).toBeNull();

    expect(await auth.revokeWorkspaceApiKey(ws.id, created.id)).toBe(true);
    expect(await auth.verifyApiKey(created.key)).toBeNull();

    const expired = await auth.createWorkspaceApiKey({ workspaceId: ws.id, expiresAt: new Date(Date.now() - 1000) });
    expect(await auth.verifyApiKey(expired.key)).toBeNull();
  });

  it("prevents revoking another workspace's key by id", async () => {
    const auth = await import('../src/index');
    await auth.createUserWithPassword({ email: 'k2@example.com', password: 'password123' });
    const a = await auth.createWorkspace({ name: 'A', slug: 'k-a', ownerEmail: 'k2@example.com' });
    await auth.createWorkspace({ name: 'B', slug: 'k-b', ownerEmail: 'k2@example.com' });
    const bKey = await auth.createApiKey({ workspaceSlug: 'k-b' });
    expect(await auth.revokeWorkspaceApiKey(a.id, bKey.id)).toBe(false);
    expect(await auth.verifyApiKey(bKey.key)).not.toBeNull();
  });
});
