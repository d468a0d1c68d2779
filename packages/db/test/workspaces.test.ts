import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TTestDatabase } from '../src/testing';
import { getMembership, getWorkspaceById, getWorkspaceBySlug, listMemberships, parseRoles } from '../src/workspaces';

let db: TTestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

let seq = 0;
async function seed() {
  const p = db.prisma;
  const n = `${++seq}`;
  const ann = await p.user.create({ data: { name: 'Ann', email: `ann-${n}@example.com` } });
  const bob = await p.user.create({ data: { name: 'Bob', email: `bob-${n}@example.com` } });
  const zeta = await p.workspace.create({ data: { name: 'Zeta Labs', slug: `zeta-${n}` } });
  const alpha = await p.workspace.create({ data: { name: 'Alpha Team', slug: `alpha-${n}` } });
  const odd = await p.workspace.create({ data: { name: 'Mid', slug: `mid-${n}` } });
  await p.member.create({ data: { organizationId: zeta.id, userId: ann.id, role: 'owner' } });
  await p.member.create({ data: { organizationId: alpha.id, userId: ann.id, role: 'viewer,developer' } });
  // better-auth's default role name, unknown to Crucible: grants nothing
  await p.member.create({ data: { organizationId: odd.id, userId: ann.id, role: 'member' } });
  await p.member.create({ data: { organizationId: alpha.id, userId: bob.id, role: 'admin' } });
  return { ann, bob, zeta, alpha, odd };
}

describe('workspaces and memberships', () => {
  it('parseRoles keeps known roles, most powerful first', () => {
    expect(parseRoles('viewer, owner')).toEqual(['owner', 'viewer']);
    expect(parseRoles('member')).toEqual([]);
    expect(parseRoles(null)).toEqual([]);
  });

  it('getWorkspaceBySlug finds by slug only', async () => {
    const { zeta } = await seed();
    expect((await getWorkspaceBySlug(zeta.slug, db.prisma))?.id).toBe(zeta.id);
    expect(await getWorkspaceBySlug('no-such-workspace', db.prisma)).toBeNull();
    expect((await getWorkspaceById(zeta.id, db.prisma))?.slug).toBe(zeta.slug);
  });

  it('getMembership returns the role in that workspace, and null for non-members', async () => {
    const { ann, bob, zeta, alpha, odd } = await seed();
    expect(await getMembership(ann.id, zeta.id, db.prisma)).toMatchObject({
      userId: ann.id,
      workspaceId: zeta.id,
      role: 'owner',
      roles: ['owner'],
    });
    expect(await getMembership(ann.id, alpha.id, db.prisma)).toMatchObject({
      role: 'developer',
      roles: ['developer', 'viewer'],
    });
    expect(await getMembership(bob.id, zeta.id, db.prisma)).toBeNull();
    expect(await getMembership(ann.id, odd.id, db.prisma)).toBeNull();
  });

  it('listMemberships lists the user’s workspaces by name with their roles', async () => {
    const { ann, bob, zeta, alpha } = await seed();
    const list = await listMemberships(ann.id, db.prisma);
    expect(list.map((m) => [m.workspace.slug, m.role])).toEqual([
      [alpha.slug, 'developer'],
      [zeta.slug, 'owner'],
    ]);
    expect((await listMemberships(bob.id, db.prisma)).map((m) => m.workspaceId)).toEqual([alpha.id]);
  });

  it('one membership per user and workspace', async () => {
    const { bob, alpha } = await seed();
    await expect(
      db.prisma.member.create({ data: { organizationId: alpha.id, userId: bob.id, role: 'viewer' } }),
    ).rejects.toMatchObject({ code: 'P2002' });
  });
});
