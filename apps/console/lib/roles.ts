import type { TRole } from './me';

/**
 * What each workspace role may do, as the console shows it before anyone tries (issue 13, item 12). The routes
 * enforce the same ranks (`requireWorkspace(req, slug, minRole)` in lib/server/context.ts): viewers read,
 * developers create (upload, train, deploy, chat), admins manage members, keys and the budget.
 */
const ROLE_RANK = Object.freeze({ viewer: 0, developer: 1, admin: 2, owner: 3 } satisfies Record<TRole, number>);

export type TAction = 'upload' | 'train' | 'deploy' | 'chat' | 'evaluate';

/** The least role an action needs (the same minRole its route checks). */
export const ACTION_MIN_ROLE = Object.freeze({
  upload: 'developer',
  train: 'developer',
  deploy: 'developer',
  chat: 'developer',
  evaluate: 'developer',
} satisfies Record<TAction, TRole>);

export function can(role: TRole, action: TAction): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[ACTION_MIN_ROLE[action]];
}
