import { createAccessControl } from 'better-auth/plugins/access';
import { defaultStatements } from 'better-auth/plugins/organization/access';
import { z } from 'zod';

/**
 * Workspace roles, lowest to highest. The order is the rank: each role can do
 * everything the roles before it can. Route handlers check a minimum role
 * (`roleAtLeast`); the access-control statements below say the same thing per
 * resource so that better-auth's own organization endpoints agree with ours.
 */
export const ROLES = ['viewer', 'developer', 'admin', 'owner'] as const;
export const ZRole = z.enum(ROLES);
export type TRole = z.infer<typeof ZRole>;

export function roleRank(role: string): number {
  return ROLES.indexOf(role as TRole);
}

/** True when `role` is a known role at or above `min`. Unknown roles are never enough. */
export function roleAtLeast(role: string, min: TRole): boolean {
  const rank = roleRank(role);
  return rank >= 0 && rank >= roleRank(min);
}

/**
 * What can be done to what. better-auth's defaults (organization, member,
 * invitation, team, ac) stay so its organization endpoints keep working; our
 * domain resources are added beside them.
 */
export const statements = {
  ...defaultStatements,
  apiKey: ['create', 'read', 'update', 'delete'],
  dataset: ['read', 'create', 'update', 'delete'],
  job: ['read', 'create', 'cancel'],
  model: ['read', 'create', 'delete'],
  deployment: ['read', 'create', 'update', 'delete'],
  usage: ['read'],
} as const;

export const ac = createAccessControl(statements);

const READ = {
  dataset: ['read'],
  job: ['read'],
  model: ['read'],
  deployment: ['read'],
  usage: ['read'],
  ac: ['read'],
} as const;

/** Reads everything in the workspace, changes nothing. */
export const viewer = ac.newRole({ ...READ });

/** Does the work: datasets, fine-tuning jobs, models, deployments. */
export const developer = ac.newRole({
  ...READ,
  dataset: ['read', 'create', 'update', 'delete'],
  job: ['read', 'create', 'cancel'],
  model: ['read', 'create', 'delete'],
  deployment: ['read', 'create', 'update', 'delete'],
});

/** Runs the workspace: members, invitations, API keys, the workspace's name. */
export const admin = ac.newRole({
  ...developer.statements,
  organization: ['update'],
  member: ['create', 'update', 'delete'],
  invitation: ['create', 'cancel'],
  team: ['create', 'update', 'delete'],
  apiKey: ['create', 'read', 'update', 'delete'],
  ac: ['create', 'read', 'update', 'delete'],
});

/** Everything, including deleting the workspace. */
export const owner = ac.newRole({
  ...admin.statements,
  organization: ['update', 'delete'],
});

export const roles = { viewer, developer, admin, owner } as const;

/**
 * The role an API key acts with inside its workspace. Keys are for programs
 * (the OpenAI-compatible API, CI scripts): they may create datasets, jobs and
 * deployments, but never manage people or other keys, so a leaked key cannot
 * lock the owners out.
 */
export const API_KEY_ROLE: TRole = 'developer';
