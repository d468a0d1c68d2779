// @vitest-environment node
/**
 * A hard-limited budget that is exceeded refuses new deployments (and restarts) with 402 budget_exceeded, before
 * anything else is looked at; without the budget the same request gets past the guard.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase } from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

const p = { slug: 'depbudget' };

it('refuses a deployment with 402 budget_exceeded once a hard budget limit is reached', async () => {
  const owner = await signUp('depbudget-owner');
  const workspaceId = (await makeWorkspace(owner, 'depbudget')).id;
  // 100K trained tokens at the default 0.003 / 1K = 0.30 USD spent, over a 0.01 USD hard limit
  const { chargeTraining } = await import('@crucible/billing');
  await chargeTraining({
    workspaceId,
    jobId: 'job-b',
    baseModel: 'tiny',
    method: 'sft_lora',
    tokens: 100_000,
    idempotencyKey: 'training:job-b:1',
  });
  const put = await call('PUT', '/api/workspaces/[slug]/billing/budget', {
    caller: owner,
    params: p,
    body: { amount: '0.01', currency: 'USD', thresholds: [100], hardLimit: true },
  });
  expect(put.status).toBe(200);
  expect(put.body.data.exceeded).toBe(true);

  const body = { name: 'd1', modelKind: 'base', modelId: 'no-such-model' };
  const refused = await call('POST', '/api/workspaces/[slug]/deployments', { caller: owner, params: p, body });
  expect(refused.status).toBe(402);
  expect(refused.body.error.code).toBe('budget_exceeded');
  const { getPrisma } = await import('@crucible/db');
  expect(await getPrisma().deployment.count({ where: { workspaceId } })).toBe(0);

  const restart = await call('POST', '/api/workspaces/[slug]/deployments/[deploymentId]/restart', {
    caller: owner,
    params: { ...p, deploymentId: 'no-such-deployment' },
  });
  expect(restart.status).toBe(402);
  expect(restart.body.error.code).toBe('budget_exceeded');

  expect((await call('DELETE', '/api/workspaces/[slug]/billing/budget', { caller: owner, params: p })).status).toBe(
    204,
  );
  const after = await call('POST', '/api/workspaces/[slug]/deployments', { caller: owner, params: p, body });
  expect(after.status).not.toBe(402);
  expect([400, 404]).toContain(after.status);
}, 60_000);
