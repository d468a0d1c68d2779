// @vitest-environment node
/**
 * Billing dashboard wording (issue 13, item 10): breakdown rows carry names resolved in the caller's workspace (never
 * another workspace's), the summary says whether alert e-mail is configured, and the seeded default price list says
 * when it was created, not the epoch it applies from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveOf } from '../../components/billing/types';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

let owner: TCaller & { email: string; userId: string };
let stranger: TCaller & { email: string; userId: string };
let deploymentId: string;
let foreignDeploymentId: string;
const p = { slug: 'names' };

beforeAll(async () => {
  owner = await signUp('names-owner');
  stranger = await signUp('names-stranger');
  const ws = await makeWorkspace(owner, 'names');
  const other = await makeWorkspace(stranger, 'names-other');
  const { chargeInference, settleDeploymentRun } = await import('@crucible/billing');
  const { getPrisma } = await import('@crucible/db');
  const db = getPrisma();
  const startedAt = new Date(Date.now() - 90 * 60_000);
  const stoppedAt = new Date(Date.now() - 60_000);
  deploymentId = (
    await db.deployment.create({
      data: { workspaceId: ws.id, name: 'support-bot', status: 'stopped', startedAt, stoppedAt },
    })
  ).id;
  foreignDeploymentId = (
    await db.deployment.create({
      data: { workspaceId: other.id, name: 'secret-bot', status: 'stopped', startedAt, stoppedAt },
    })
  ).id;
  await settleDeploymentRun(deploymentId);
  await chargeInference({
    workspaceId: ws.id,
    requestId: 'by-owner',
    model: 'tiny',
    inputTokens: 1000,
    outputTokens: 1000,
    userId: owner.userId,
  });
  // A line of this workspace that names another workspace's deployment and a user who is not a member here:
  // neither name may leak into this workspace's dashboard.
  await chargeInference({
    workspaceId: ws.id,
    requestId: 'foreign-ids',
    model: 'tiny',
    inputTokens: 1000,
    outputTokens: 1000,
    userId: stranger.userId,
    deploymentId: foreignDeploymentId,
  });
}, 60_000);

describe('billing names', () => {
  it('names breakdown rows (member name and e-mail, deployment) and never names another workspace’s ids', async () => {
    const res = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: owner, params: p });
    expect(res.status).toBe(200);
    const byKey = (k: string) =>
      Object.fromEntries(res.body.breakdowns[k].map((r: { key: string; name: string | null }) => [r.key, r.name]));
    expect(byKey('member')[owner.userId]).toBe(`names-owner <${owner.email}>`);
    expect(byKey('member')[stranger.userId]).toBeNull();
    expect(byKey('deployment')[deploymentId]).toBe('support-bot');
    expect(byKey('deployment')[foreignDeploymentId]).toBeNull();
    // requests name the model they used: that name is the row's name
    expect(byKey('model').tiny).toBe('tiny');
  });

  it('says that alert e-mail is not configured when SMTP_URL is unset', async () => {
    const saved = process.env.SMTP_URL;
    delete process.env.SMTP_URL;
    try {
      const res = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: owner, params: p });
      expect(res.body.mailConfigured).toBe(false);
      process.env.SMTP_URL = 'smtp://mail.example.test:587';
      const again = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: owner, params: p });
      expect(again.body.mailConfigured).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.SMTP_URL;
      else process.env.SMTP_URL = saved;
    }
  });

  it('shows the default price list as in effect since the instance was installed, not since 1970', async () => {
    const res = await call('GET', '/api/workspaces/[slug]/billing/price-lists', { caller: owner, params: p });
    expect(res.status).toBe(200);
    const def = res.body.data.find((l: { name: string }) => l.name === 'Default');
    expect(def.effectiveFrom).toBe(new Date(0).toISOString());
    const e = effectiveOf(def);
    expect(e.kind).toBe('sinceInstall');
    expect(e.date).toBe(def.createdAt);
    expect(new Date(e.date as string).getUTCFullYear()).toBeGreaterThan(2000);
    expect(effectiveOf({ effectiveFrom: '2026-03-01T00:00:00.000Z', createdAt: def.createdAt })).toEqual({
      kind: 'since',
      date: '2026-03-01T00:00:00.000Z',
    });
  });
});
