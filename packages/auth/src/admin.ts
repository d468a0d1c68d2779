import { getPrisma, recordAudit } from '@crucible/db';
import { createWorkspaceApiKey, type TCreatedApiKey } from './api-keys';
import { getAuth } from './auth';

/**
 * Server-side helpers shared by the console's routes and the admin CLI. They
 * go through better-auth where it owns the rules (password hashing, the
 * creator's owner membership), so a user made here signs in like any other.
 */

export type TAdminErrorCode = 'not_found' | 'conflict' | 'invalid';

export class AdminError extends Error {
  constructor(
    readonly code: TAdminErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export type TUser = { id: string; email: string; name: string };
export type TWorkspace = { id: string; name: string; slug: string; createdAt: Date };

export async function createUserWithPassword(input: {
  email: string;
  password: string;
  name?: string;
}): Promise<TUser> {
  const email = input.email.trim().toLowerCase();
  const existing = await getPrisma().user.findUnique({ where: { email } });
  if (existing) throw new AdminError('conflict', `A user with email ${email} already exists.`, 'email');
  if (input.password.length < 8)
    throw new AdminError('invalid', 'The password must have at least 8 characters.', 'password');
  const result = await getAuth().api.signUpEmail({
    body: { email, password: input.password, name: input.name ?? email.split('@')[0] ?? email },
  });
  return { id: result.user.id, email: result.user.email, name: result.user.name };
}

/** Instance roles (user.role, the better-auth admin plugin's field): "admin" sees and prices every workspace. */
export type TInstanceRole = 'user' | 'admin';

/**
 * Makes a user an instance admin (or a plain user again); an instance-level audit line records it. Only the admin
 * CLI calls this: no HTTP route changes user.role, and sign-up cannot set it (not an input field of better-auth).
 */
export async function setInstanceRole(email: string, role: TInstanceRole): Promise<TUser & { role: TInstanceRole }> {
  const prisma = getPrisma();
  const found = await prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } });
  if (!found) throw new AdminError('not_found', `No user with email ${email.trim().toLowerCase()}.`, 'email');
  const user = await prisma.user.update({ where: { id: found.id }, data: { role } });
  await recordAudit({
    action: 'user.role_change',
    targetType: 'user',
    targetId: user.id,
    data: { from: found.role ?? 'user', to: role, via: 'cli' },
  });
  return { id: user.id, email: user.email, name: user.name, role };
}

export async function findUserByEmail(email: string): Promise<TUser | null> {
  const user = await getPrisma().user.findUnique({ where: { email: email.trim().toLowerCase() } });
  return user ? { id: user.id, email: user.email, name: user.name } : null;
}

export async function findWorkspaceBySlug(slug: string): Promise<TWorkspace | null> {
  const ws = await getPrisma().workspace.findUnique({ where: { slug } });
  return ws ? { id: ws.id, name: ws.name, slug: ws.slug, createdAt: ws.createdAt } : null;
}

/** Creates a workspace whose owner is the given user (by id or email). */
export async function createWorkspace(input: {
  name: string;
  slug: string;
  ownerEmail?: string;
  ownerId?: string;
}): Promise<TWorkspace> {
  let ownerId = input.ownerId;
  if (!ownerId) {
    const owner = input.ownerEmail ? await findUserByEmail(input.ownerEmail) : null;
    if (!owner) throw new AdminError('not_found', `No user with email ${input.ownerEmail ?? '(none)'}.`, 'owner');
    ownerId = owner.id;
  }
  if (await findWorkspaceBySlug(input.slug)) {
    throw new AdminError('conflict', `The workspace slug "${input.slug}" is taken.`, 'slug');
  }
  // No headers: better-auth treats this as a server action for `userId`,
  // and makes that user the workspace's owner (creatorRole).
  const ws = await getAuth().api.createOrganization({
    body: { name: input.name, slug: input.slug, userId: ownerId },
  });
  if (!ws) throw new Error('better-auth returned no workspace');
  return { id: ws.id, name: ws.name, slug: ws.slug, createdAt: new Date(ws.createdAt) };
}

export async function createApiKey(input: {
  workspaceSlug: string;
  name?: string | null;
  createdBy?: string | null;
}): Promise<TCreatedApiKey> {
  const ws = await findWorkspaceBySlug(input.workspaceSlug);
  if (!ws) throw new AdminError('not_found', `No workspace with slug "${input.workspaceSlug}".`, 'workspace');
  return createWorkspaceApiKey({ workspaceId: ws.id, name: input.name ?? null, createdBy: input.createdBy ?? null });
}
