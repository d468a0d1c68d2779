import type { Workspace } from '@prisma/client';
import { getPrisma, type TDb } from './client';

/** Workspace roles, most powerful first. better-auth stores a member's role as a string (several: comma-separated). */
export const WORKSPACE_ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type TWorkspaceRole = (typeof WORKSPACE_ROLES)[number];

/** The roles named in better-auth's role string that Crucible knows, most powerful first; unknown names are dropped. */
export function parseRoles(role: string | null | undefined): TWorkspaceRole[] {
  const names = new Set((role ?? '').split(',').map((r) => r.trim()));
  return WORKSPACE_ROLES.filter((r) => names.has(r));
}

export type TMembership = {
  memberId: string;
  userId: string;
  workspaceId: string;
  /** The most powerful of `roles`. */
  role: TWorkspaceRole;
  roles: TWorkspaceRole[];
  createdAt: Date;
};

export type TMembershipWithWorkspace = TMembership & { workspace: Workspace };

type TMemberRow = { id: string; userId: string; organizationId: string; role: string; createdAt: Date };

function toMembership(row: TMemberRow): TMembership | null {
  const roles = parseRoles(row.role);
  // A member whose role string names no Crucible role is given nothing, not a guessed default.
  if (roles.length === 0) return null;
  return {
    memberId: row.id,
    userId: row.userId,
    workspaceId: row.organizationId,
    role: roles[0] as TWorkspaceRole,
    roles,
    createdAt: row.createdAt,
  };
}

export async function getWorkspaceBySlug(slug: string, db: TDb = getPrisma()): Promise<Workspace | null> {
  return db.workspace.findUnique({ where: { slug } });
}

export async function getWorkspaceById(id: string, db: TDb = getPrisma()): Promise<Workspace | null> {
  return db.workspace.findUnique({ where: { id } });
}

/** The user's membership of a workspace, or null when they are not a member (or hold no known role). */
export async function getMembership(
  userId: string,
  workspaceId: string,
  db: TDb = getPrisma(),
): Promise<TMembership | null> {
  const row = await db.member.findUnique({ where: { organizationId_userId: { organizationId: workspaceId, userId } } });
  return row ? toMembership(row) : null;
}

/** Every workspace the user belongs to, by workspace name (the workspace switcher). */
export async function listMemberships(userId: string, db: TDb = getPrisma()): Promise<TMembershipWithWorkspace[]> {
  const rows = await db.member.findMany({
    where: { userId },
    include: { workspace: true },
    orderBy: [{ workspace: { name: 'asc' } }, { workspace: { slug: 'asc' } }],
  });
  const result: TMembershipWithWorkspace[] = [];
  for (const row of rows) {
    const membership = toMembership(row);
    if (membership) result.push({ ...membership, workspace: row.workspace });
  }
  return result;
}
