// @vitest-environment node
/**
 * The rules of the platform's operations (@crucible/services, issue 17) as the console's REST and OpenAI routes
 * answer them: a base model that is not ready and a version of a deleted dataset are refused naming the field; a
 * hard budget limit refuses OpenAI's create as it does the REST one; a job or a deployment start the queue does not
 * take answers 503 and leaves its row failed with `queue_unavailable`, not waiting for a worker that never hears.
 */
import { randomUUID } from 'node:crypto';
import { dropPrefix } from '@crucible/jobs/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFineTuningJob } from '../../lib/server/routes/openai-fine-tuning';
import { dropTestStorage, useTestStorage } from './datasets-helpers';
import { APP_URL, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

const SLUG = 'ops';
const P = '/api/workspaces/[slug]';
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const saved = { ...process.env };
let owner: TCaller;
let key = '';
let workspaceId = '';
let readyId = '';
let notReadyId = '';
let publishedId = '';
let deletedVersionId = '';

beforeAll(async () => {
  useTestStorage();
  process.env.REDIS_PREFIX = prefix;
  await startTestDatabase();
  owner = await signUp('ops-owner');
  workspaceId = (await makeWorkspace(owner, SLUG)).id;
  key = (await call('POST', `${P}/api-keys`, { caller: owner, params: { slug: SLUG }, body: { name: 'k' } })).body.key;
  const { getPrisma } = await import('@crucible/db');
  const prisma = getPrisma();
  readyId = (await prisma.baseModel.create({ data: { workspaceId, name: 'tiny', arch: 'qwen2' } })).id;
  notReadyId = (
    await prisma.baseModel.create({ data: { workspaceId, name: 'uploading', arch: 'qwen2', status: 'downloading' } })
  ).id;
  const version = async (datasetName: string) => {
    const ds = await prisma.dataset.create({ data: { workspaceId, name: datasetName } });
    const v = await prisma.datasetVersion.create({
      data: {
        workspaceId,
        datasetId: ds.id,
        number: 1,
        status: 'published',
        format: 'chatml',
        objectKey: `workspaces/${workspaceId}/datasets/${ds.id}/v1.jsonl`,
        sha256: '0'.repeat(64),
        rowCount: 8,
        tokenCount: 400n,
      },
    });
    return { datasetId: ds.id, versionId: v.id };
  };
  publishedId = (await version('sums')).versionId;
  const gone = await version('gone');
  await prisma.dataset.update({ where: { id: gone.datasetId }, data: { deletedAt: new Date() } });
  deletedVersionId = gone.versionId;
}, 60_000);

afterAll(async () => {
  const jobs = await import('@crucible/jobs');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await jobs.closeRedisConnection();
  await stopTestDatabase();
  await dropTestStorage();
  process.env = saved;
});

/** Runs `fn` with the shared queue connection pointed at a Redis nobody listens on; enqueue gives up after 5 s. */
async function withRedisDown<T>(fn: () => Promise<T>): Promise<T> {
  const jobs = await import('@crucible/jobs');
  await jobs.closeQueues();
  await jobs.closeRedisConnection();
  process.env.REDIS_URL = 'redis://127.0.0.1:1';
  // The connection and the queue log each refused reconnect; that is expected here.
  const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    return await fn();
  } finally {
    quiet.mockRestore();
    await jobs.closeQueues();
    jobs.getRedisConnection().disconnect();
    await jobs.closeRedisConnection();
    process.env.REDIS_URL = saved.REDIS_URL ?? '';
  }
}

const jobBody = (over: Record<string, unknown> = {}) => ({
  baseModelId: readyId,
  trainingVersionId: publishedId,
  method: 'sft_lora',
  hyperparameters: { epochs: 1 },
  ...over,
});

describe('fine-tuning jobs', () => {
  it('refuses a base model that is not ready and a version of a deleted dataset, naming the field', async () => {
    const notReady = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: SLUG },
      body: jobBody({ baseModelId: notReadyId }),
    });
    expect(notReady.status).toBe(400);
    expect(notReady.body.error).toMatchObject({
      code: 'invalid_request',
      param: 'baseModelId',
      message: 'Base model uploading is downloading, not ready.',
    });
    const deleted = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: SLUG },
      body: jobBody({ trainingVersionId: deletedVersionId }),
    });
    expect(deleted.status).toBe(400);
    expect(deleted.body.error).toMatchObject({ code: 'invalid_request', param: 'trainingVersionId' });
    const { getPrisma } = await import('@crucible/db');
    expect(await getPrisma().trainingJob.count({ where: { workspaceId } })).toBe(0);
  });

  it("refuses OpenAI's create with 402 budget_exceeded over a hard limit", async () => {
    const { upsertBudgetRow, deleteBudgetRow } = await import('@crucible/db/billing');
    const { chargeTraining } = await import('@crucible/billing');
    await chargeTraining({
      workspaceId,
      jobId: 'job-spent',
      baseModel: 'tiny',
      method: 'sft_lora',
      tokens: 100_000,
      idempotencyKey: 'training:job-spent:1',
    });
    await upsertBudgetRow(workspaceId, { amount: '0.01', currency: 'USD', thresholds: [100], hardLimit: true });
    try {
      const res = await createFineTuningJob(
        new Request(`${APP_URL}/v1/fine_tuning/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'tiny', training_file: `file-${publishedId}` }),
        }),
        {},
      );
      expect(res.status).toBe(402);
      expect((await res.json()).error).toMatchObject({ code: 'budget_exceeded' });
    } finally {
      await deleteBudgetRow(workspaceId);
    }
  });

  it('answers 503 when the queue does not take the job, and marks the job failed', async () => {
    const res = await withRedisDown(() =>
      call('POST', `${P}/fine-tuning/jobs`, { caller: owner, params: { slug: SLUG }, body: jobBody() }),
    );
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'unavailable' });
    expect(res.body.error.message).toMatch(/^The job queue did not take the job/);
    const { getPrisma } = await import('@crucible/db');
    const row = await getPrisma().trainingJob.findFirstOrThrow({ where: { workspaceId } });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'queue_unavailable', queueJobId: null });
    const shown = await call('GET', `${P}/fine-tuning/jobs/[jobId]`, {
      caller: owner,
      params: { slug: SLUG, jobId: row.id },
    });
    expect(shown.body).toMatchObject({ status: 'failed', error: { code: 'queue_unavailable' } });
  });
});

describe('deployments', () => {
  it('answers 503 when the queue does not take the start, and marks the deployment failed; so does a restart', async () => {
    const res = await withRedisDown(() =>
      call('POST', `${P}/deployments`, {
        caller: owner,
        params: { slug: SLUG },
        body: { name: 'd1', modelKind: 'base', modelId: readyId },
      }),
    );
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'unavailable' });
    const { getPrisma } = await import('@crucible/db');
    const row = await getPrisma().deployment.findFirstOrThrow({ where: { workspaceId, name: 'd1' } });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'queue_unavailable' });

    const restart = await withRedisDown(() =>
      call('POST', `${P}/deployments/[deploymentId]/restart`, {
        caller: owner,
        params: { slug: SLUG, deploymentId: row.id },
      }),
    );
    expect(restart.status).toBe(503);
    const after = await getPrisma().deployment.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: 'failed', errorCode: 'queue_unavailable' });

    // With Redis back the restart is taken: the deployment waits for a serving worker again.
    const again = await call('POST', `${P}/deployments/[deploymentId]/restart`, {
      caller: owner,
      params: { slug: SLUG, deploymentId: row.id },
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ status: 'deploying', error: null });
  });

  it('refuses a bad deployment name with 400 naming the field', async () => {
    const res = await call('POST', `${P}/deployments`, {
      caller: owner,
      params: { slug: SLUG },
      body: { name: 'has space', modelKind: 'base', modelId: readyId },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param: 'name' });
  });
});
