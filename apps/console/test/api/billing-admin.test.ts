// @vitest-environment node
/**
 * Instance admins see all workspaces (issue 7): GET /api/admin/billing/workspaces lists every workspace with the same
 * numbers its own dashboard shows, and an instance admin who is not a member may read (never change) that
 * workspace's billing. Everyone else gets 403 on the admin route and 404 on a stranger's workspace, as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

let admin: TCaller & { email: string; userId: string };
let alice: TCaller & { email: string; userId: string };
let bob: TCaller & { email: string; userId: string };
let aliceKey: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  admin = await signUp('instance-admin');
  alice = await signUp('alice');
  bob = await signUp('bob');
  const { setInstanceRole } = await import('@crucible/auth');
  await setInstanceRole(admin.email, 'admin');
  ids.lab = (await makeWorkspace(alice, 'lab')).id;
  ids.shop = (await makeWorkspace(bob, 'shop')).id;
  ids.own = (await makeWorkspace(admin, 'admins-own')).id;
  const k = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: alice,
    params: { slug: 'lab' },
    body: { name: 'k' },
  });
  aliceKey = k.body.key;
  const { chargeInference, chargeTraining } = await import('@crucible/billing');
  // lab: 10,000 training tokens (0.03) + 2,000 in / 1,000 out (0.0025); shop: 20,000 training tokens (0.06)
  await chargeTraining({
    workspaceId: ids.lab,
    jobId: 'j1',
    baseModel: 'tiny',
    method: 'sft_lora',
    tokens: 10_000,
    idempotencyKey: 'training:j1:1',
  });
  await chargeInference({
    workspaceId: ids.lab,
    requestId: 'r1',
    model: 'tiny',
    inputTokens: 2000,
    outputTokens: 1000,
  });
  await chargeTraining({
    workspaceId: ids.shop,
    jobId: 'j2',
    baseModel: 'tiny',
    method: 'sft_lora',
    tokens: 20_000,
    idempotencyKey: 'training:j2:1',
  });
  const put = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
    caller: bob,
    params: { slug: 'shop' },
    body: { amount: '0.1', currency: 'USD', thresholds: [50, 80, 100] },
  });
  expect(put.status).toBe(200);
}, 60_000);

describe('instance admin billing', () => {
  it('lists every workspace with the totals, month-to-date and budget its own dashboard shows', async () => {
    const res = await call('GET', '/api/admin/billing/workspaces', { caller: admin });
    expect(res.status).toBe(200);
    const bySlug = Object.fromEntries(res.body.workspaces.map((w: { slug: string }) => [w.slug, w]));
    expect(Object.keys(bySlug).sort()).toEqual(['admins-own', 'lab', 'shop']);
    expect(bySlug.lab.totals.byCategory).toEqual({
      training: '0.03',
      inference: '0.0025',
      deployment: '0',
      storage: '0',
    });
    expect(bySlug.shop.totals.byCategory.training).toBe('0.06');
    expect(res.body.totals.byCurrency).toEqual({ USD: '0.0925' });
    expect(bySlug.shop.budget).toMatchObject({ amount: '0.1', currency: 'USD', spent: '0.06', percent: 60 });
    expect(bySlug.lab.budget).toBeNull();
    expect([bySlug.lab.myRole, bySlug['admins-own'].myRole]).toEqual([null, 'owner']);
    expect(bySlug.lab.members).toBe(1);
    for (const [slug, owner] of [
      ['lab', alice],
      ['shop', bob],
    ] as const) {
      const own = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: owner, params: { slug } });
      expect(bySlug[slug].totals.byCategory).toEqual(own.body.totals.byCategory);
      expect(bySlug[slug].monthToDate).toEqual({
        currency: own.body.monthToDate.currency,
        amount: own.body.monthToDate.amount,
        forecast: own.body.monthToDate.forecast,
      });
    }
    const shopBudget = await call('GET', '/api/workspaces/[slug]/billing/budget', {
      caller: bob,
      params: { slug: 'shop' },
    });
    expect(bySlug.shop.budget.percent).toBe(shopBudget.body.data.percent);
    // the range is validated like the dashboard's
    const { listWorkspacesBilling } = await import('../../lib/server/routes/billing-admin');
    const bad = await listWorkspacesBilling(
      new Request('http://localhost:3000/api/admin/billing/workspaces?from=2026-13-01', {
        headers: { cookie: admin.cookie as string },
      }),
      {},
    );
    expect(bad.status).toBe(400);
  });

  it('refuses everyone else with 403: a plain user, a workspace owner, an API key', async () => {
    for (const caller of [alice, bob, { key: aliceKey }]) {
      const res = await call('GET', '/api/admin/billing/workspaces', { caller });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await call('GET', '/api/admin/billing/workspaces')).status).toBe(401);
  });

  it("lets an instance admin read a workspace's billing without being a member, and change nothing", async () => {
    const p = { slug: 'lab' };
    for (const path of ['summary', 'ledger', 'statement', 'budget', 'price-lists']) {
      const res = await call('GET', `/api/workspaces/[slug]/billing/${path}` as never, { caller: admin, params: p });
      expect([path, res.status]).toEqual([path, 200]);
    }
    const summary = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: admin, params: p });
    expect(summary.body.totals.byCurrency).toEqual({ USD: '0.0325' });
    const { getUsage } = await import('../../lib/server/routes/usage');
    const usage = await getUsage(
      new Request('http://localhost:3000/api/usage?workspace=lab', { headers: { cookie: admin.cookie as string } }),
      {},
    );
    expect(usage.status).toBe(200);
    // writes stay member-only: 404, as for any stranger (the workspace's existence is not confirmed by a 403)
    const put = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
      caller: admin,
      params: p,
      body: { amount: '1', currency: 'USD' },
    });
    expect(put.status).toBe(404);
    expect((await call('DELETE', '/api/workspaces/[slug]/billing/budget', { caller: admin, params: p })).status).toBe(
      404,
    );
    // and the rest of the workspace stays closed
    expect((await call('GET', '/api/workspaces/[slug]', { caller: admin, params: p })).status).toBe(404);
    expect((await call('GET', '/api/workspaces/[slug]/members', { caller: admin, params: p })).status).toBe(404);
    // a plain user still gets 404 on a stranger's billing
    const stranger = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: bob, params: p });
    expect(stranger.status).toBe(404);
  });

  it('tells the console who is an instance admin (GET /api/me)', async () => {
    expect((await call('GET', '/api/me', { caller: admin })).body.instanceAdmin).toBe(true);
    expect((await call('GET', '/api/me', { caller: alice })).body.instanceAdmin).toBe(false);
  });

  it('shows on the budget whether each alert was e-mailed (the billing job sends them)', async () => {
    // 0.06 of 0.1: the 50% alert; the e-mail is pending until the serving worker's billing.accrue run sends it
    const res = await call('GET', '/api/workspaces/[slug]/billing/budget', { caller: bob, params: { slug: 'shop' } });
    expect(res.body.data.alerts).toEqual([
      expect.objectContaining({
        threshold: 50,
        notification: { status: 'pending', skipped: null, recipients: [], attempts: 0, notifiedAt: null, error: null },
      }),
    ]);
    const { deliverBudgetAlerts } = await import('@crucible/billing');
    await deliverBudgetAlerts({ mailer: null, appUrl: 'http://localhost:3000' });
    const after = await call('GET', '/api/workspaces/[slug]/billing/budget', { caller: bob, params: { slug: 'shop' } });
    expect(after.body.data.alerts[0].notification).toMatchObject({
      status: 'skipped',
      skipped: 'no_smtp',
      error: expect.stringMatching(/SMTP_URL is not set/),
    });
  });
});
