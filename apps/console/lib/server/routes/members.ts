import { getPrisma } from '@crucible/db';
import { ZUpdateMemberRole } from '../../schemas';
import { actorOf, audit } from '../audit';
import { effectiveRole, requireWorkspace, type TWorkspaceContext } from '../context';
import { AppError } from '../errors';
import { json, readBody, route } from '../http';

type TMemberRow = {
  id: string;
  userId: string;
  role: string;
  createdAt: Date;
  user: { name: string; email: string; image: string | null };
};

function toMember(m: TMemberRow) {
  return {
    id: m.id,
    userId: m.userId,
    name: m.user.name,
    email: m.user.email,
    image: m.user.image,
    role: effectiveRole(m.role),
    createdAt: m.createdAt,
  };
}

const memberInclude = { user: { select: { name: true, email: true, image: true } } } as const;

async function findMember(ctx: TWorkspaceContext, memberId: string) {
  const member = await getPrisma().member.findFirst({
    where: { id: memberId, organizationId: ctx.workspace.id },
    include: memberInclude,
  });
  if (!member) throw new AppError('not_found', 'No such member.');
  return member;
}

async function ownerCount(workspaceId: string): Promise<number> {
  const members = await getPrisma().member.findMany({ where: { organizationId: workspaceId }, select: { role: true } });
  return members.filter((m) => effectiveRole(m.role) === 'owner').length;
}

/** GET /api/workspaces/[slug]/members */
export const listMembers = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'viewer');
  const members = await getPrisma().member.findMany({
    where: { organizationId: ctx.workspace.id },
    include: memberInclude,
    orderBy: { createdAt: 'asc' },
  });
  return json({ data: members.map(toMember) });
});

/**
 * PATCH /api/workspaces/[slug]/members/[memberId]: change a role (admin+).
 * Only an owner may make or unmake owners, and the last owner cannot be
 * demoted: a workspace without an owner could never be deleted or rescued.
 */
export const patchMember = route(async (req, { slug, memberId }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const { role } = await readBody(req, ZUpdateMemberRole);
  const member = await findMember(ctx, memberId);
  const current = effectiveRole(member.role);
  if ((current === 'owner' || role === 'owner') && ctx.role !== 'owner') {
    throw new AppError('forbidden', 'Only an owner can grant or remove the owner role.', 'role');
  }
  if (current === 'owner' && role !== 'owner' && (await ownerCount(ctx.workspace.id)) <= 1) {
    throw new AppError('conflict', 'The last owner cannot be demoted; make someone else owner first.', 'role');
  }
  const updated = await getPrisma().member.update({ where: { id: member.id }, data: { role }, include: memberInclude });
  await audit(req, actorOf(ctx), 'member.role_change', { type: 'member', id: member.id }, { from: current, to: role });
  return json(toMember(updated));
});

/**
 * DELETE /api/workspaces/[slug]/members/[memberId]: remove a member (admin+),
 * or leave (anyone, their own membership). Removing takes effect at once: every
 * request checks membership in the database.
 */
export const deleteMember = route(async (req, { slug, memberId }) => {
  const ctx = await requireWorkspace(req, slug, 'viewer');
  const member = await findMember(ctx, memberId);
  const leaving = ctx.user !== undefined && member.userId === ctx.user.id;
  if (!leaving && ctx.role !== 'admin' && ctx.role !== 'owner') {
    throw new AppError('forbidden', 'This needs the admin role or higher.');
  }
  const target = effectiveRole(member.role);
  if (target === 'owner' && !leaving && ctx.role !== 'owner') {
    throw new AppError('forbidden', 'Only an owner can remove an owner.');
  }
  if (target === 'owner' && (await ownerCount(ctx.workspace.id)) <= 1) {
    throw new AppError('conflict', 'The last owner cannot be removed; make someone else owner first.');
  }
  await getPrisma().member.delete({ where: { id: member.id } });
  await audit(
    req,
    actorOf(ctx),
    leaving ? 'member.leave' : 'member.remove',
    { type: 'member', id: member.id },
    {
      userId: member.userId,
      role: target,
    },
  );
  return json({ id: member.id, deleted: true });
});
