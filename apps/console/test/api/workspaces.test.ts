// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_URL,
  addMember,
  authPost,
  call,
  makeWorkspace,
  signUp,
  startTestDatabase,
  stopTestDatabase,
  type TCaller,
} from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

type TUser = TCaller & { email: string; userId: string };

describe('workspaces', () => {
  it('makes the creator the owner and lists it under /api/me and /api/workspaces', async () => {
    const owner = await signUp('owner');
    const ws = await makeWorkspace(owner, 'acme');
    expect(ws).toMatchObject({ slug: 'acme', name: 'ACME', role: 'owner' });
    const me = await call('GET', '/api/me', { caller: owner });
    expect(me.body.workspaces).toEqual([expect.objectContaining({ slug: 'acme', role: 'owner' })]);
    const list = await call('GET', '/api/workspaces', { caller: owner });
    expect(list.body.data.map((w: { slug: string }) => w.slug)).toEqual(['acme']);
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: owner, params: { slug: 'acme' } });
    expect(members.body.data).toEqual([expect.objectContaining({ email: owner.email, role: 'owner' })]);
  });

  it('refuses a taken slug with 409 and a malformed slug with 400 naming the field', async () => {
    const u = await signUp('sluggy');
    await makeWorkspace(u, 'taken');
    const dup = await call('POST', '/api/workspaces', { caller: u, body: { name: 'x', slug: 'taken' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.param).toBe('slug');
    const bad = await call('POST', '/api/workspaces', { caller: u, body: { name: 'x', slug: 'Not A Slug' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', param: 'slug' });
  });

  it('renames (admin+) and deletes (owner only)', async () => {
    const owner = await signUp('o2');
    await makeWorkspace(owner, 'renamable');
    const renamed = await call('PATCH', '/api/workspaces/[slug]', {
      caller: owner,
      params: { slug: 'renamable' },
      body: { name: 'New name' },
    });
    expect(renamed.body.name).toBe('New name');
    // The usage ledger is append-only (a trigger refuses deletes) except when its whole workspace goes.
    const { getPrisma } = await import('@crucible/db');
    await getPrisma().usageRecord.create({
      data: {
        workspaceId: renamed.body.id,
        category: 'inference',
        meter: 'input_tokens',
        quantity: '2',
        unit: '1K tokens',
        amount: '0.002',
        currency: 'USD',
        idempotencyKey: `del-${renamed.body.id}`,
      },
    });
    const del = await call('DELETE', '/api/workspaces/[slug]', { caller: owner, params: { slug: 'renamable' } });
    expect(del.status).toBe(200);
    expect((await call('GET', '/api/workspaces/[slug]', { caller: owner, params: { slug: 'renamable' } })).status).toBe(
      404,
    );
    expect(await getPrisma().usageRecord.count({ where: { workspaceId: renamed.body.id } })).toBe(0);
  });
});

describe('roles', () => {
  let owner: TUser;
  let admin: TUser;
  let dev: TUser;
  let viewer: TUser;
  const slug = 'roles';
  const p = { slug };

  beforeAll(async () => {
    owner = await signUp('r-owner');
    admin = await signUp('r-admin');
    dev = await signUp('r-dev');
    viewer = await signUp('r-viewer');
    await makeWorkspace(owner, slug);
    await addMember(owner, slug, admin, 'admin');
    await addMember(owner, slug, dev, 'developer');
    await addMember(admin, slug, viewer, 'viewer');
  });

  it('lets every role read, and shows each member with their role', async () => {
    for (const who of [owner, admin, dev, viewer]) {
      expect((await call('GET', '/api/workspaces/[slug]/datasets', { caller: who, params: p })).status).toBe(200);
    }
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: viewer, params: p });
    const roles = Object.fromEntries(members.body.data.map((m: { email: string; role: string }) => [m.email, m.role]));
    expect(roles).toEqual({
      [owner.email]: 'owner',
      [admin.email]: 'admin',
      [dev.email]: 'developer',
      [viewer.email]: 'viewer',
    });
  });

  it('prevents viewers and developers from managing members, invitations and keys (403, not 404)', async () => {
    for (const who of [viewer, dev]) {
      const inv = await call('POST', '/api/workspaces/[slug]/invitations', {
        caller: who,
        params: p,
        body: { email: 'x@example.com' },
      });
      expect(inv.status).toBe(403);
      expect(inv.body.error.code).toBe('forbidden');
      expect((await call('GET', '/api/workspaces/[slug]/api-keys', { caller: who, params: p })).status).toBe(403);
      expect(
        (await call('PATCH', '/api/workspaces/[slug]', { caller: who, params: p, body: { name: 'hijack' } })).status,
      ).toBe(403);
    }
  });

  it('prevents an admin from deleting the workspace or touching an owner', async () => {
    expect((await call('DELETE', '/api/workspaces/[slug]', { caller: admin, params: p })).status).toBe(403);
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: admin, params: p });
    const ownerMember = members.body.data.find((m: { email: string }) => m.email === owner.email);
    const demote = await call('PATCH', '/api/workspaces/[slug]/members/[memberId]', {
      caller: admin,
      params: { slug, memberId: ownerMember.id },
      body: { role: 'viewer' },
    });
    expect(demote.status).toBe(403);
    const promoteSelf = await call('PATCH', '/api/workspaces/[slug]/members/[memberId]', {
      caller: admin,
      params: { slug, memberId: members.body.data.find((m: { email: string }) => m.email === admin.email).id },
      body: { role: 'owner' },
    });
    expect(promoteSelf.status).toBe(403);
  });

  it('prevents the last owner from being demoted or removed', async () => {
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: owner, params: p });
    const ownerMember = members.body.data.find((m: { email: string }) => m.email === owner.email);
    const demote = await call('PATCH', '/api/workspaces/[slug]/members/[memberId]', {
      caller: owner,
      params: { slug, memberId: ownerMember.id },
      body: { role: 'admin' },
    });
    expect(demote.status).toBe(409);
    const leave = await call('DELETE', '/api/workspaces/[slug]/members/[memberId]', {
      caller: owner,
      params: { slug, memberId: ownerMember.id },
    });
    expect(leave.status).toBe(409);
  });

  it('lets an admin change a role, and the new role applies on the next request', async () => {
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: admin, params: p });
    const devMember = members.body.data.find((m: { email: string }) => m.email === dev.email);
    const up = await call('PATCH', '/api/workspaces/[slug]/members/[memberId]', {
      caller: admin,
      params: { slug, memberId: devMember.id },
      body: { role: 'admin' },
    });
    expect(up.status).toBe(200);
    expect(up.body.role).toBe('admin');
    expect((await call('GET', '/api/workspaces/[slug]/api-keys', { caller: dev, params: p })).status).toBe(200);
    await call('PATCH', '/api/workspaces/[slug]/members/[memberId]', {
      caller: admin,
      params: { slug, memberId: devMember.id },
      body: { role: 'developer' },
    });
    expect((await call('GET', '/api/workspaces/[slug]/api-keys', { caller: dev, params: p })).status).toBe(403);
  });

  it('removes a member and their access ends immediately (404 afterwards)', async () => {
    const extra = await signUp('r-extra');
    await addMember(owner, slug, extra, 'developer');
    expect((await call('GET', '/api/workspaces/[slug]', { caller: extra, params: p })).status).toBe(200);
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: owner, params: p });
    const m = members.body.data.find((x: { email: string }) => x.email === extra.email);
    const del = await call('DELETE', '/api/workspaces/[slug]/members/[memberId]', {
      caller: admin,
      params: { slug, memberId: m.id },
    });
    expect(del.status).toBe(200);
    expect((await call('GET', '/api/workspaces/[slug]', { caller: extra, params: p })).status).toBe(404);
  });
});

describe('invitations', () => {
  it('creates an invite link, and only the invited email can accept it, once', async () => {
    const owner = await signUp('i-owner');
    const invitee = await signUp('i-invitee');
    const stranger = await signUp('i-stranger');
    await makeWorkspace(owner, 'inviting');
    const inv = await call('POST', '/api/workspaces/[slug]/invitations', {
      caller: owner,
      params: { slug: 'inviting' },
      body: { email: invitee.email.toUpperCase(), role: 'viewer' },
    });
    expect(inv.status).toBe(201);
    expect(inv.body.url).toBe(`http://localhost:3000/invite/${inv.body.id}`);
    const listed = await call('GET', '/api/workspaces/[slug]/invitations', {
      caller: owner,
      params: { slug: 'inviting' },
    });
    expect(listed.body.data.map((i: { id: string }) => i.id)).toEqual([inv.body.id]);

    // Someone else holding the link learns nothing and cannot use it.
    const params = { invitationId: inv.body.id };
    expect((await call('GET', '/api/invitations/[invitationId]', { caller: stranger, params })).status).toBe(404);
    expect((await call('POST', '/api/invitations/[invitationId]/accept', { caller: stranger, params })).status).toBe(
      404,
    );

    const view = await call('GET', '/api/invitations/[invitationId]', { caller: invitee, params });
    expect(view.body).toMatchObject({ role: 'viewer', status: 'pending', workspace: { slug: 'inviting' } });
    const accepted = await call('POST', '/api/invitations/[invitationId]/accept', { caller: invitee, params });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ role: 'viewer', workspace: { slug: 'inviting' } });
    const ws = await call('GET', '/api/workspaces/[slug]', { caller: invitee, params: { slug: 'inviting' } });
    expect(ws.body.role).toBe('viewer');

    const again = await call('POST', '/api/invitations/[invitationId]/accept', { caller: invitee, params });
    expect(again.status).toBe(409);
  });

  it('prevents a revoked invitation from being accepted', async () => {
    const owner = await signUp('rv-owner');
    const invitee = await signUp('rv-invitee');
    await makeWorkspace(owner, 'revoking');
    const inv = await call('POST', '/api/workspaces/[slug]/invitations', {
      caller: owner,
      params: { slug: 'revoking' },
      body: { email: invitee.email },
    });
    const del = await call('DELETE', '/api/workspaces/[slug]/invitations/[invitationId]', {
      caller: owner,
      params: { slug: 'revoking', invitationId: inv.body.id },
    });
    expect(del.status).toBe(200);
    const acc = await call('POST', '/api/invitations/[invitationId]/accept', {
      caller: invitee,
      params: { invitationId: inv.body.id },
    });
    expect(acc.status).toBe(409);
    expect(
      (await call('GET', '/api/workspaces/[slug]', { caller: invitee, params: { slug: 'revoking' } })).status,
    ).toBe(404);
  });

  it('prevents an admin from inviting an owner', async () => {
    const owner = await signUp('io-owner');
    const admin = await signUp('io-admin');
    await makeWorkspace(owner, 'owner-invites');
    await addMember(owner, 'owner-invites', admin, 'admin');
    const res = await call('POST', '/api/workspaces/[slug]/invitations', {
      caller: admin,
      params: { slug: 'owner-invites' },
      body: { email: 'boss@example.com', role: 'owner' },
    });
    expect(res.status).toBe(403);
  });
});

describe("better-auth's organization endpoints", () => {
  it('prevents bypassing the workspace rules by changing workspaces through /api/auth/organization/*', async () => {
    const owner = await signUp('ba-owner');
    const admin = await signUp('ba-admin');
    const ws = await makeWorkspace(owner, 'bypass');
    await addMember(owner, 'bypass', admin, 'admin');
    const members = await call('GET', '/api/workspaces/[slug]/members', { caller: owner, params: { slug: 'bypass' } });
    const ownerMember = members.body.data.find((m: { email: string }) => m.email === owner.email);

    const attempts: [string, unknown][] = [
      ['/organization/update-member-role', { memberId: ownerMember.id, role: 'viewer', organizationId: ws.id }],
      ['/organization/remove-member', { memberIdOrEmail: owner.email, organizationId: ws.id }],
      ['/organization/update', { data: { slug: 'Not A Slug' }, organizationId: ws.id }],
      ['/organization/create', { name: 'x', slug: 'Not A Slug' }],
      ['/organization/invite-member', { email: 'x@example.com', role: 'owner', organizationId: ws.id }],
    ];
    for (const [path, body] of attempts) {
      const res = await authPost(path, body, admin);
      expect([path, res.status]).toEqual([path, 404]);
    }
    const after = await call('GET', '/api/workspaces/[slug]/members', { caller: owner, params: { slug: 'bypass' } });
    expect(after.body.data).toEqual(members.body.data);

    // Reads and the active workspace still work for the console's auth client.
    const { authHandler } = await import('../../lib/server/routes/auth');
    const list = await authHandler(
      new Request(`${APP_URL}/api/auth/organization/list`, {
        headers: { cookie: admin.cookie ?? '', origin: APP_URL },
      }),
    );
    expect(list.status).toBe(200);
    expect(((await list.json()) as { slug: string }[]).map((o) => o.slug)).toEqual(['bypass']);
  });
});
