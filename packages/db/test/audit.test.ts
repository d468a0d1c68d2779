import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit';
import { createTestDatabase, type TTestDatabase } from '../src/testing';

let db: TTestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('recordAudit', () => {
  it('writes workspace and instance-level entries', async () => {
    const user = await db.prisma.user.create({ data: { name: 'Ann', email: 'ann@example.com' } });
    const ws = await db.prisma.workspace.create({ data: { name: 'W', slug: 'w' } });
    const entry = await recordAudit(
      {
        workspaceId: ws.id,
        actorUserId: user.id,
        action: 'member.role_change',
        targetType: 'member',
        targetId: 'm1',
        data: { from: 'viewer', to: 'developer' },
        ip: '127.0.0.1',
      },
      db.prisma,
    );
    expect(entry).toMatchObject({ workspaceId: ws.id, actorUserId: user.id, action: 'member.role_change' });
    expect(entry.data).toEqual({ from: 'viewer', to: 'developer' });

    const instance = await recordAudit({ action: 'user.create', targetType: 'user', targetId: user.id }, db.prisma);
    expect(instance.workspaceId).toBeNull();

    const listed = await db.prisma.auditLog.findMany({ where: { workspaceId: ws.id } });
    expect(listed.map((e) => e.id)).toEqual([entry.id]);
  });

  it('refuses an action that is not noun.verb', async () => {
    await expect(recordAudit({ action: 'Deleted stuff' }, db.prisma)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('rolls back with the change it records', async () => {
    await expect(
      db.prisma.$transaction(async (tx) => {
        await recordAudit({ action: 'dataset.delete', targetId: 'd1' }, tx);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await db.prisma.auditLog.count({ where: { action: 'dataset.delete' } })).toBe(0);
  });
});
