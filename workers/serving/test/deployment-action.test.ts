import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disconnectAll, type PrismaClient } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  closeQueues,
  closeRedisConnection,
  createRedisConnection,
  deploymentActionJob,
  enqueue,
  getQueue,
  type TWorkerRuntime,
} from '@crucible/jobs';
import { dropPrefix } from '@crucible/jobs/testing';
import { createLocalStorage } from '@crucible/storage';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine } from '../src/engine';
import { createServingHost, registryKey, setServingHost } from '../src/host';
import { startServingRuntime } from './helpers';

/** The deployment.action handler through the real queue, against a fresh Postgres database. */

let db: TTestDatabase;
let prisma: PrismaClient;
let runtime: TWorkerRuntime;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  process.env.DATABASE_URL = db.url; // the handler's getPrisma() reads it
  runtime = await startServingRuntime(prefix);
});

afterAll(async () => {
  await runtime?.closeRuntime({ graceMs: 0 });
  await closeQueues();
  await closeRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
});

async function settle(id: string) {
  const queue = getQueue('deployments', { prefix });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') return { state, job: await queue.getJob(id) };
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function makeDeployment() {
  const tag = randomUUID().slice(0, 8);
  const ws = await prisma.workspace.create({ data: { name: `WS ${tag}`, slug: `ws-${tag}` } });
  const base = await prisma.baseModel.create({ data: { workspaceId: ws.id, name: `tiny-${tag}`, arch: 'qwen2' } });
  return prisma.deployment.create({
    data: { workspaceId: ws.id, name: `dep-${tag}`, baseModelId: base.id, status: 'running', endpoint: 'http://x' },
  });
}

it('stop records the deployment as stopped', async () => {
  const dep = await makeDeployment();
  const { state } = await settle(
    (await enqueue(deploymentActionJob, { deploymentId: dep.id, action: 'stop' }, { prefix })).id,
  );
  expect(state).toBe('completed');
  const after = await prisma.deployment.findUniqueOrThrow({ where: { id: dep.id } });
  expect(after).toMatchObject({ status: 'stopped', endpoint: null, workerId: null });
  expect(after.stoppedAt).toBeInstanceOf(Date);
});

it('start without a model host in this process fails with no_host and says so on the row', async () => {
  setServingHost(null);
  const dep = await makeDeployment();
  const { state, job } = await settle(
    (await enqueue(deploymentActionJob, { deploymentId: dep.id, action: 'start' }, { prefix })).id,
  );
  expect(state).toBe('failed');
  expect(job?.failedReason).toMatch(/^handler_failed: no_host: /);
  const after = await prisma.deployment.findUniqueOrThrow({ where: { id: dep.id } });
  expect(after).toMatchObject({ status: 'failed', errorCode: 'no_host' });
});

it('start of a model whose files are missing ends failed (model_unavailable), registered in Redis', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crucible-serving-'));
  const engine = createEngine({
    storage: createLocalStorage({
      root: join(dir, 'storage'),
      signingSecret: 'x'.repeat(32),
      publicUrl: 'http://127.0.0.1:1',
    }),
    cacheDir: join(dir, 'cache'),
    maxAdapters: 2,
    contextSize: 128,
    gpu: false,
    ggufType: 'F32',
  });
  const host = createServingHost({ engine, redis, prefix, workerId: 'w1', url: 'http://127.0.0.1:1' });
  setServingHost(host);
  try {
    await host.publish();
    expect(JSON.parse((await redis.get(registryKey(prefix, 'w1'))) ?? '{}')).toMatchObject({
      workerId: 'w1',
      url: 'http://127.0.0.1:1',
      bases: [],
      adapters: [],
    });
    const dep = await makeDeployment();
    const { state, job } = await settle(
      (await enqueue(deploymentActionJob, { deploymentId: dep.id, action: 'start' }, { prefix })).id,
    );
    expect(state).toBe('failed');
    expect(job?.failedReason).toMatch(/^handler_failed: model_unavailable: /);
    const after = await prisma.deployment.findUniqueOrThrow({ where: { id: dep.id } });
    expect(after).toMatchObject({ status: 'failed', errorCode: 'model_unavailable', workerId: null });
    expect(after.errorMessage).toMatch(/not in storage/);
  } finally {
    setServingHost(null);
    await host.close();
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a missing deployment fails with not_found; a bad action never reaches the queue', async () => {
  const { state, job } = await settle(
    (await enqueue(deploymentActionJob, { deploymentId: 'nope', action: 'restart' }, { prefix })).id,
  );
  expect(state).toBe('failed');
  expect(job?.failedReason).toMatch(/^not_found: Deployment nope does not exist/);
  await expect(
    enqueue(deploymentActionJob, { deploymentId: 'x', action: 'explode' as 'stop' }, { prefix }),
  ).rejects.toMatchObject({ code: 'invalid_payload' });
});
