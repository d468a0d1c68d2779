// @vitest-environment node
/**
 * What a role may do is shown before it tries (issue 13, item 12): the console's role model (lib/roles.ts) must be
 * the routes' own minimum roles, and a signed-out invitee learns the workspace, the role and the invited address
 * from the link — only while the invitation can still be accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_MIN_ROLE, can } from '../../lib/roles';
import { invitationPreview } from '../../lib/server/routes/invitations';
import { call, findRoute, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

describe('the role model the console shows', () => {
  it('asks for the same role as the route each action calls', () => {
    const WS = '/api/workspaces/[slug]';
    expect(findRoute('POST', `${WS}/datasets`).minRole).toBe(ACTION_MIN_ROLE.upload);
    expect(findRoute('POST', `${WS}/datasets/[datasetId]/uploads`).minRole).toBe(ACTION_MIN_ROLE.upload);
    expect(findRoute('POST', `${WS}/fine-tuning/jobs`).minRole).toBe(ACTION_MIN_ROLE.train);
    expect(findRoute('POST', `${WS}/deployments`).minRole).toBe(ACTION_MIN_ROLE.deploy);
  });

  it('lets developers and up create, and viewers only look', () => {
    for (const action of ['upload', 'train', 'deploy', 'chat'] as const) {
      expect(can('viewer', action)).toBe(false);
      expect(can('developer', action)).toBe(true);
      expect(can('owner', action)).toBe(true);
    }
  });
});

describe('invitation preview for a signed-out invitee', () => {
  let admin: TCaller & { email: string };

  beforeAll(async () => {
    admin = await signUp('inv-admin');
    await makeWorkspace(admin, 'inv-preview');
  });

  const invite = async (email: string, role = 'viewer') => {
    const res = await call('POST', '/api/workspaces/[slug]/invitations', {
      caller: admin,
      params: { slug: 'inv-preview' },
      body: { email, role },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  it('names the workspace, the role, the inviter and the invited address', async () => {
    const id = await invite('new.person@example.test', 'developer');
    expect(await invitationPreview(id)).toEqual({
      workspace: { name: 'INV-PREVIEW' },
      role: 'developer',
      email: 'new.person@example.test',
      inviterName: 'inv-admin',
    });
  });

  it('shows nothing for a revoked, expired or unknown link', async () => {
    const revoked = await invite('revoked@example.test');
    await call('DELETE', '/api/workspaces/[slug]/invitations/[invitationId]', {
      caller: admin,
      params: { slug: 'inv-preview', invitationId: revoked },
    });
    expect(await invitationPreview(revoked)).toBeNull();

    const expired = await invite('expired@example.test');
    const { getPrisma } = await import('@crucible/db');
    await getPrisma().invitation.update({ where: { id: expired }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await invitationPreview(expired)).toBeNull();

    expect(await invitationPreview('cmxbcqs1k001g7a7dxrgnfvvd')).toBeNull();
  });
});
