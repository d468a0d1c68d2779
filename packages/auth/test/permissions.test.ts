import { describe, expect, it } from 'vitest';
import { ROLES, roleAtLeast, roles } from '../src/permissions';

type TCase = [resource: string, action: string, leastRole: (typeof ROLES)[number]];

// What each role may do, written out by hand from the brief (viewer reads, developer creates datasets/jobs/
// deployments, admin manages members/keys, owner everything) — not derived from the code under test.
const CASES: TCase[] = [
  ['dataset', 'read', 'viewer'],
  ['job', 'read', 'viewer'],
  ['model', 'read', 'viewer'],
  ['deployment', 'read', 'viewer'],
  ['usage', 'read', 'viewer'],
  ['dataset', 'create', 'developer'],
  ['job', 'create', 'developer'],
  ['job', 'cancel', 'developer'],
  ['deployment', 'create', 'developer'],
  ['member', 'create', 'admin'],
  ['member', 'update', 'admin'],
  ['member', 'delete', 'admin'],
  ['invitation', 'create', 'admin'],
  ['apiKey', 'create', 'admin'],
  ['apiKey', 'delete', 'admin'],
  ['organization', 'update', 'admin'],
  ['organization', 'delete', 'owner'],
];

describe('access control', () => {
  it.each(CASES)('%s:%s needs at least %s', (resource, action, least) => {
    for (const role of ROLES) {
      const res = roles[role].authorize({ [resource]: [action] } as never);
      expect([role, res.success]).toEqual([role, roleAtLeast(role, least)]);
    }
  });

  it('ranks roles viewer < developer < admin < owner and rejects unknown roles', () => {
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('admin', 'owner')).toBe(false);
    expect(roleAtLeast('developer', 'viewer')).toBe(true);
    expect(roleAtLeast('viewer', 'developer')).toBe(false);
    expect(roleAtLeast('member', 'viewer')).toBe(false);
    expect(roleAtLeast('', 'viewer')).toBe(false);
  });
});
