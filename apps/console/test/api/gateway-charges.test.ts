// @vitest-environment node
/**
 * The gateway refuses what it could not charge, before anything is logged or generated (issue 17, money): a model
 * no price list prices (the instance quotes input and output tokens for one model only, so no default applies to
 * the others) and a workspace past its hard budget. No serving worker runs here: a request the check lets through
 * goes on to find none (503 no_serving_worker), which is how the test tells "refused for its price" from "accepted".
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletions } from '../../lib/server/gateway/handlers';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase } from './helpers';

const saved = { ...process.env };
const PRICED = 'priced-model';
const UNPRICED = 'unpriced-model';
let key = '';
let workspaceId = '';
let owner: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  await startTestDatabase();
  // A Redis prefix no serving worker registers under.
  process.env.REDIS_PREFIX = `crucible-test-gwc-${randomUUID().slice(0, 8)}`;
  owner = await signUp('gwc');
  workspaceId = (await makeWorkspace(owner, 'gwc')).id;
  key = (
    await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: { slug: 'gwc' },
      body: { name: 'k' },
    })
  ).body.key as string;
  const { getPrisma } = await import('@crucible/db');
  for (const name of [PRICED, UNPRICED]) {
    await getPrisma().baseModel.create({ data: { workspaceId, name, arch: 'qwen2' } });
  }
  // The instance prices inference for one model only: the defaults are not seeded for a meter it prices.
  const { createPriceList } = await import('@crucible/db/billing');
  await createPriceList({
    workspaceId: null,
    name: 'one model',
    currency: 'USD',
    effectiveFrom: new Date(0),
    items: [
      { category: 'inference', meter: 'input_tokens', unit: '1K tokens', unitPrice: '0.5', modelRef: PRICED },
      { category: 'inference', meter: 'output_tokens', unit: '1K tokens', unitPrice: '1', modelRef: PRICED },
    ],
  });
}, 120_000);

afterAll(async () => {
  const { closeRedisConnection, closeQueues } = await import('@crucible/jobs');
  await closeQueues();
  await closeRedisConnection();
  await stopTestDatabase();
  process.env = saved;
});

async function chat(model: string) {
  const res = await chatCompletions(
    new Request('http://localhost:3000/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }),
    }),
    {},
  );
  return { status: res.status, body: (await res.json()) as { error: { type: string; code: string; message: string } } };
}

async function requestLogs() {
  const { getPrisma } = await import('@crucible/db');
  return getPrisma().requestLog.count({ where: { workspaceId } });
}

describe('gateway: nothing served that could not be charged', () => {
  it('refuses a model with no price in force (403 no_price, naming the meter and where to add one); a priced one passes', async () => {
    const refused = await chat(UNPRICED);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('no_price');
    expect(refused.body.error.message).toContain('input_tokens');
    expect(refused.body.error.message).toContain(UNPRICED);
    expect(refused.body.error.message).toContain('Billing → Prices');
    expect(await requestLogs()).toBe(0);

    const accepted = await chat(PRICED);
    expect(accepted.status).toBe(503);
    expect(accepted.body.error.code).toBe('no_serving_worker');
    expect(await requestLogs()).toBe(1);
  });

  it('refuses every model once a hard budget is spent (402 budget_exceeded), and serves again when it is lifted', async () => {
    // Spend through the gateway's own charge: 10K prompt tokens of the priced model = 5 USD.
    const { chargeInference } = await import('@crucible/billing');
    await chargeInference({ workspaceId, requestId: 'spent', model: PRICED, inputTokens: 10_000, outputTokens: 0 });
    const put = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
      caller: owner,
      params: { slug: 'gwc' },
      body: { amount: '1', currency: 'USD', thresholds: [100], hardLimit: true },
    });
    expect(put.status).toBe(200);
    // The positive answer for PRICED is kept 5 s: wait it out, as a client would see within 5 s of the limit.
    await new Promise((r) => setTimeout(r, 5_100));
    const refused = await chat(PRICED);
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('budget_exceeded');
    expect(refused.body.error.message).toContain('API requests are refused');

    const lifted = await call('DELETE', '/api/workspaces/[slug]/billing/budget', {
      caller: owner,
      params: { slug: 'gwc' },
    });
    expect(lifted.status).toBe(204);
    expect((await chat(PRICED)).status).toBe(503);
  }, 30_000);
});
