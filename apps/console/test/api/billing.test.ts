// @vitest-environment node
/**
 * Billing API over a scripted run charged through the same functions the workers call (@crucible/billing):
 * the summary, GET /api/usage and the CSV all equal the sum of ledger lines, which equals the charges computed
 * here from the prices the test set (the default instance list).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

let owner: TCaller & { email: string; userId: string };
let key: string;
let keyId: string;
let workspaceId: string;
const p = { slug: 'bill' };
const today = new Date().toISOString().slice(0, 10);

// micro-units (10^-10) as BigInt: exact for the default prices (0.003, 0.0005, 0.0015 per 1K; 0.5 per hour)
const S = 10n ** 10n;
const scaled = (s: string) => {
  const [i, f = ''] = s.split('.');
  return BigInt(i) * S + BigInt((f + '0'.repeat(10)).slice(0, 10));
};
const priceTimes = (raw: number, price: string, per: number) => (BigInt(raw) * scaled(price)) / BigInt(per);

let expected = 0n;

beforeAll(async () => {
  owner = await signUp('bill-owner');
  workspaceId = (await makeWorkspace(owner, 'bill')).id;
  const k = await call('POST', '/api/workspaces/[slug]/api-keys', { caller: owner, params: p, body: { name: 'k' } });
  key = k.body.key;
  keyId = k.body.id;
  const { chargeTraining, chargeInference, accrueDeploymentHours } = await import('@crucible/billing');
  const { getPrisma } = await import('@crucible/db');
  const now = Date.now();
  // all usage happens "now" (today): the default list (effective since 1970) applies
  for (let s = 1; s <= 3; s++) {
    await chargeTraining({
      workspaceId,
      jobId: 'job-a',
      baseModel: 'tiny',
      method: 'sft_lora',
      tokens: 4000 * s,
      idempotencyKey: `training:job-a:${s}`,
    });
    expected += priceTimes(4000 * s, '0.003', 1000);
  }
  await chargeTraining({
    workspaceId,
    jobId: 'job-a',
    baseModel: 'tiny',
    method: 'sft_lora',
    tokens: 4000,
    idempotencyKey: 'training:job-a:1',
  }); // duplicate
  for (let i = 0; i < 3; i++) {
    await chargeInference({
      workspaceId,
      requestId: `q${i}`,
      model: 'tiny',
      inputTokens: 2000,
      outputTokens: 1000 + i * 1000,
      apiKeyId: keyId,
    });
    expected += priceTimes(2000, '0.0005', 1000) + priceTimes(1000 + i * 1000, '0.0015', 1000);
  }
  // a deployment started 2 h 30 min ago (or at midnight if that is later, so every hour is today): its complete hours
  // (the partial hour is billed by the minute once the deployment stops)
  const start = new Date(Math.max(now - 2.5 * 3_600_000, new Date(`${today}T00:00:00Z`).getTime()));
  await getPrisma().deployment.create({ data: { workspaceId, name: 'd', status: 'running', startedAt: start } });
  const hours = Math.floor((now - start.getTime()) / 3_600_000);
  await accrueDeploymentHours(new Date(now));
  expected += BigInt(hours) * scaled('0.5');
}, 60_000);

const fromScaled = (v: bigint) => {
  const f = (v % S).toString().padStart(10, '0').replace(/0+$/, '');
  return f ? `${v / S}.${f}` : `${v / S}`;
};

describe('billing API', () => {
  it('summary totals = ledger lines = expected charges', async () => {
    const res = await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: owner, params: p });
    expect(res.status).toBe(200);
    const t = res.body.totals.byCategory;
    const total = ['training', 'inference', 'deployment', 'storage'].reduce((a, c) => a + scaled(t[c]), 0n);
    expect(fromScaled(total)).toBe(fromScaled(expected));
    expect(res.body.totals.byCurrency).toEqual({ USD: fromScaled(expected) });
    expect(res.body.monthToDate.amount).toBe(fromScaled(expected));
    expect(res.body.breakdowns.apiKey).toEqual([expect.objectContaining({ key: keyId, lines: 6 })]);
    const ledger = await call('GET', '/api/workspaces/[slug]/billing/ledger', { caller: owner, params: p });
    expect(fromScaled(ledger.body.data.reduce((a: bigint, l: { amount: string }) => a + scaled(l.amount), 0n))).toBe(
      fromScaled(expected),
    );
    // drill-down from a bar: one day and one category
    const { getBillingLedger } = await import('../../lib/server/routes/billing');
    const url = `http://localhost:3000/x?day=${today}&category=inference`;
    const day = await (
      await getBillingLedger(new Request(url, { headers: { authorization: `Bearer ${key}` } }), p)
    ).json();
    expect(day.data).toHaveLength(6);
    const inference = day.data.reduce((a: bigint, l: { amount: string }) => a + scaled(l.amount), 0n);
    expect(fromScaled(inference)).toBe(res.body.totals.byCategory.inference);
  });

  it('GET /api/usage answers the same numbers to the API key and to a session naming the workspace', async () => {
    const { getUsage } = await import('../../lib/server/routes/usage');
    const get = async (qs: string, caller: TCaller) => {
      const headers = new Headers({ origin: 'http://localhost:3000' });
      if (caller.key) headers.set('authorization', `Bearer ${caller.key}`);
      if (caller.cookie) headers.set('cookie', caller.cookie);
      const res = await getUsage(new Request(`http://localhost:3000/api/usage?${qs}`, { headers }), {});
      return { status: res.status, body: await res.json() };
    };
    const byKey = await get(`from=${today}&to=${today}`, { key });
    expect(byKey.status).toBe(200);
    expect(byKey.body.totals.byCurrency.USD).toBe(fromScaled(expected));
    expect(byKey.body.lines).toHaveLength(
      3 + 6 + byKey.body.lines.filter((l: { category: string }) => l.category === 'deployment').length,
    );
    const bySession = await get(`from=${today}&to=${today}&workspace=bill`, owner);
    expect(bySession.body.totals).toEqual(byKey.body.totals);
    expect((await get('from=2026-13-01', { key })).status).toBe(400);
    // a session without ?workspace= is refused unless it is an instance admin; a stranger's slug is a 404
    expect((await get('', owner)).status).toBe(400);
    const stranger = await signUp('bill-stranger');
    expect((await get('workspace=bill', stranger)).status).toBe(404);
  });

  it('CSV export of the ledger and the monthly statement', async () => {
    const { getBillingLedger, getBillingStatement } = await import('../../lib/server/routes/billing');
    const res = await getBillingLedger(
      new Request('http://localhost:3000/x?format=csv', { headers: { authorization: `Bearer ${key}` } }),
      p,
    );
    expect(res.headers.get('content-type')).toContain('text/csv');
    const rows = (await res.text()).trim().split('\r\n');
    const amountCol = rows[0].split(',').indexOf('amount');
    expect(fromScaled(rows.slice(1).reduce((a, r) => a + scaled(r.split(',')[amountCol]), 0n))).toBe(
      fromScaled(expected),
    );
    const st = await getBillingStatement(
      new Request('http://localhost:3000/x', { headers: { authorization: `Bearer ${key}` } }),
      p,
    );
    const body = await st.json();
    expect(body.totals.byCurrency.USD).toBe(fromScaled(expected));
  });

  it('budget: alerts recorded once, hard limit refuses a job with budget_exceeded', async () => {
    const put = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
      caller: owner,
      params: p,
      body: { amount: '0.01', currency: 'USD', thresholds: [50, 80, 100], hardLimit: true },
    });
    expect(put.status).toBe(200);
    expect(put.body.data.exceeded).toBe(true);
    expect(put.body.data.alerts.map((a: { threshold: number }) => a.threshold)).toEqual([50, 80, 100]);
    await call('GET', '/api/workspaces/[slug]/billing/summary', { caller: owner, params: p });
    const { getPrisma } = await import('@crucible/db');
    expect(await getPrisma().budgetAlert.count({ where: { workspaceId } })).toBe(3);
    const { requireWithinBudget } = await import('@crucible/services');
    const { toResponse } = await import('../../lib/server/errors');
    const err = await requireWithinBudget(workspaceId).catch((e) => e);
    const res = toResponse(err);
    expect(res.status).toBe(402);
    expect((await res.json()).error.code).toBe('budget_exceeded');
    // the fine-tuning create routes (REST and OpenAI-style) refuse a new job before anything else is looked at
    const job = { baseModelId: 'x', trainingVersionId: 'y', method: 'sft_lora', hyperparameters: {} };
    const refused = await call('POST', '/api/workspaces/[slug]/fine-tuning/jobs', {
      caller: owner,
      params: p,
      body: job,
    });
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('budget_exceeded');
    // the API key (developer role) may read but not change the budget
    expect(
      (
        await call('PUT', '/api/workspaces/[slug]/billing/budget', {
          caller: { key },
          params: p,
          body: { amount: '5', currency: 'USD' },
        })
      ).status,
    ).toBe(403);
    expect((await call('DELETE', '/api/workspaces/[slug]/billing/budget', { caller: owner, params: p })).status).toBe(
      204,
    );
    await expect(requireWithinBudget(workspaceId)).resolves.toBeUndefined();
    // without the budget the same request gets past the guard (and fails on its made-up ids instead)
    const after = await call('POST', '/api/workspaces/[slug]/fine-tuning/jobs', {
      caller: owner,
      params: p,
      body: job,
    });
    expect(after.status).not.toBe(402);
    expect([400, 404]).toContain(after.status);
  });

  it('price lists: workspace override from now on; instance lists need an instance admin', async () => {
    const before = await call('GET', '/api/workspaces/[slug]/billing/ledger', { caller: owner, params: p });
    const created = await call('POST', '/api/workspaces/[slug]/billing/price-lists', {
      caller: owner,
      params: p,
      body: {
        name: 'Cheaper output',
        currency: 'USD',
        items: [{ meter: 'output_tokens', unitPrice: '0.001', modelRef: 'tiny' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.items[0]).toMatchObject({ category: 'inference', unit: '1K tokens', unitPrice: '0.001' });
    const past = await call('POST', '/api/workspaces/[slug]/billing/price-lists', {
      caller: owner,
      params: p,
      body: {
        name: 'Backdated',
        currency: 'USD',
        effectiveFrom: '2020-01-01',
        items: [{ meter: 'output_tokens', unitPrice: '0' }],
      },
    });
    expect(past.status).toBe(400);
    const after = await call('GET', '/api/workspaces/[slug]/billing/ledger', { caller: owner, params: p });
    expect(after.body.data).toEqual(before.body.data);
    const lists = await call('GET', '/api/workspaces/[slug]/billing/price-lists', { caller: owner, params: p });
    expect(lists.body.data.map((l: { scope: string }) => l.scope)).toEqual(['workspace', 'instance']);
    expect((await call('GET', '/api/admin/price-lists', { caller: owner })).status).toBe(403);
    const { getPrisma } = await import('@crucible/db');
    await getPrisma().user.update({ where: { id: owner.userId }, data: { role: 'admin' } });
    expect((await call('GET', '/api/admin/price-lists', { caller: owner })).status).toBe(200);
    // an instance admin may read every workspace's usage at once
    const all = await call('GET', '/api/usage', { caller: owner });
    expect(all.status).toBe(200);
    expect(all.body.workspace).toBeNull();
    expect(all.body.totals.byCurrency.USD).toBe(fromScaled(expected));
    const inst = await call('POST', '/api/admin/price-lists', {
      caller: owner,
      body: {
        name: 'Next',
        currency: 'CNY',
        items: [{ meter: 'deployment_hours', unitPrice: '3.5', workerClass: 'gpu' }],
      },
    });
    expect(inst.status).toBe(201);
  });
});
