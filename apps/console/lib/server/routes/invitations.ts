import { readAuthEnv } from '@crucible/auth';
import { getPrisma } from '@crucible/db';
import { ZCreateInvitation } from '../../schemas';
import { actorOf, audit } from '../audit';
import { requireUser, requireWorkspace } from '../context';
import { AppError } from '../errors';
import { json, readBody, route } from '../http';

/** How long an invite link works. Same as better-auth's organization plugin setting in @crucible/auth. */
const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

type TInvitationRow = {
  id: string;
  email: string;
  role: string | null;
  status: string;
  expiresAt: Date;
  createdAt: Date;
  organizationId: string;
  inviterId: string;
};

function invitationUrl(id: string): string {
  return new URL(`/invite/${id}`, readAuthEnv().APP_URL).toString();
}

function toInvitation(row: TInvitationRow) {
  const expired = row.status === 'pending' && row.expiresAt.getTime() <= Date.now();
  return {
    id: row.id,
    email: row.email,
    role: row.role ?? 'viewer',
    status: expired ? 'expired' : row.status,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    inviterId: row.inviterId,
    url: invitationUrl(row.id),
  };
}

/** GET /api/workspaces/[slug]/invitations: pending invitations (admin+). */
export const listInvitations = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const rows = await getPrisma().invitation.findMany({
    where: { organizationId: ctx.workspace.id, status: 'pending' },
    orderBy: { createdAt: 'desc' },
  });
  return json({ data: rows.map(toInvitation) });
});

/**
 * POST /api/workspaces/[slug]/invitations: an invite link for one email
 * address. There is no mail server: the inviter passes the link on. A new
 * invitation replaces any pending one for the same address.
 */
export const createInvitation = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  if (!ctx.user) throw new AppError('forbidden', 'Invitations are sent by people, not API keys.');
  const body = await readBody(req, ZCreateInvitation);
  if (body.role === 'owner' && ctx.role !== 'owner') {
    throw new AppError('forbidden', 'Only an owner can invite another owner.', 'role');
  }
  const prisma = getPrisma();
  const existing = await prisma.member.findFirst({
    where: { organizationId: ctx.workspace.id, user: { email: body.email } },
  });
  if (existing) throw new AppError('conflict', `${body.email} is already a member of this workspace.`, 'email');
  await prisma.invitation.updateMany({
    where: { organizationId: ctx.workspace.id, email: body.email, status: 'pending' },
    data: { status: 'canceled' },
  });
  const row = await prisma.invitation.create({
    data: {
      organizationId: ctx.workspace.id,
      email: body.email,
      role: body.role,
      status: 'pending',
      expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      inviterId: ctx.user.id,
    },
  });
  await audit(
    req,
    actorOf(ctx),
    'invitation.create',
    { type: 'invitation', id: row.id },
    { email: row.email, role: row.role },
  );
  return json(toInvitation(row), { status: 201 });
});

/** DELETE /api/workspaces/[slug]/invitations/[invitationId]: revoke a pending invitation (admin+). */
export const revokeInvitation = route(async (req, { slug, invitationId }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const result = await getPrisma().invitation.updateMany({
    where: { id: invitationId, organizationId: ctx.workspace.id, status: 'pending' },
    data: { status: 'canceled' },
  });
  if (result.count === 0) throw new AppError('not_found', 'No such pending invitation.');
  await audit(req, actorOf(ctx), 'invitation.revoke', { type: 'invitation', id: invitationId });
  return json({ id: invitationId, status: 'canceled' });
});

/**
 * The invitation when it is addressed to this user, else `not_found`: an
 * invite link reveals nothing to anyone but the invitee.
 */
async function invitationFor(id: string, email: string) {
  const row = await getPrisma().invitation.findUnique({
    where: { id },
    include: { workspace: { select: { id: true, name: true, slug: true } }, user: { select: { name: true } } },
  });
  if (!row || row.email.toLowerCase() !== email.toLowerCase()) throw new AppError('not_found', 'No such invitation.');
  return row;
}

/**
 * What the /invite/[id] page shows someone not signed in yet (issue 13, item 12): which workspace, which role, who
 * invited them, and the address the link was made for (sign-up pre-fills it; accepting still needs an account with
 * exactly that address). Only while the invitation can be accepted; null otherwise, so a used, revoked or expired
 * link shows nothing. The link is the invitee's secret: the inviter handed it to them.
 */
export async function invitationPreview(id: string) {
  const row = await getPrisma().invitation.findUnique({
    where: { id },
    include: { workspace: { select: { name: true } }, user: { select: { name: true } } },
  });
  if (!row) return null;
  const view = toInvitation(row);
  if (view.status !== 'pending') return null;
  return { workspace: { name: row.workspace.name }, role: view.role, email: row.email, inviterName: row.user.name };
}

/** GET /api/invitations/[invitationId]: what the /invite/[id] page shows the invitee. */
export const getInvitation = route(async (req, { invitationId }) => {
  const { user } = await requireUser(req);
  const row = await invitationFor(invitationId, user.email);
  return json({
    ...toInvitation(row),
    workspace: row.workspace,
    inviterName: row.user.name,
  });
});

/** POST /api/invitations/[invitationId]/accept: join the workspace with the invited role. */
export const acceptInvitation = route(async (req, { invitationId }) => {
  const { user } = await requireUser(req);
  const row = await invitationFor(invitationId, user.email);
  const view = toInvitation(row);
  if (view.status !== 'pending') {
    throw new AppError('conflict', `This invitation is ${view.status}; ask for a new link.`);
  }
  const prisma = getPrisma();
  await prisma.$transaction([
    prisma.member.upsert({
      where: { organizationId_userId: { organizationId: row.organizationId, userId: user.id } },
      create: { organizationId: row.organizationId, userId: user.id, role: view.role },
      update: {},
    }),
    prisma.invitation.update({ where: { id: row.id }, data: { status: 'accepted' } }),
  ]);
  await audit(
    req,
    { user, workspaceId: row.organizationId },
    'invitation.accept',
    { type: 'invitation', id: row.id },
    {
      role: view.role,
    },
  );
  return json({ workspace: row.workspace, role: view.role });
});
