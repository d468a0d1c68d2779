import { randomUUID } from 'node:crypto';
import { disconnectAll, type PrismaClient } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  closeQueues,
  closeRedisConnection,
  createRedisConnection,
  createWorkerRuntime,
  enqueue,
  getQueue,
  type TWorkerRuntime,
  trainingRunJob,
} from '@crucible/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_SUPPORTED_MESSAGE } from '../src/handlers/training-run.handler';
import { trainerJobs } from '../src/jobs';

/** The training.run handler through the real queue, against a fresh Postgres database. */

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
  runtime = createWorkerRuntime({
    kind: 'trainer',
    queue: 'training',
    jobs: trainerJobs,
    prefix,
    handleSignals: false,
    log: () => {},
  });
  await runtime.ready;
});

afterAll(async () => {
  await runtime?.closeRuntime({ graceMs: 0 });
  await closeQueues();
  await closeRedisConnection();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
});

async function makeTrainingJob(extra: { status?: 'queued' | 'succeeded'; cancelRequestedAt?: Date } = {}) {
  const tag = randomUUID().slice(0, 8);
  const ws = await prisma.workspace.create({ data: { name: `WS ${tag}`, slug: `ws-${tag}` } });
  const base = await prisma.baseModel.create({ data: { workspaceId: ws.id, name: `tiny-${tag}`, arch: 'qwen2' } });
  const ds = await prisma.dataset.create({ data: { workspaceId: ws.id, name: 'chats' } });
  const version = await prisma.datasetVersion.create({
    data: {
      workspaceId: ws.id,
      datasetId: ds.id,
      number: 1,
      status: 'published',
      format: 'chatml',
      objectKey: `workspaces/${ws.id}/datasets/${ds.id}/v1.jsonl`,
      sha256: '0'.repeat(64),
    },
  });
  return prisma.trainingJob.create({
    data: {
      workspaceId: ws.id,
      baseModelId: base.id,
      trainingFileId: version.id,
      hyperparameters: { n_epochs: 1 },
      status: extra.status ?? 'queued',
      cancelRequestedAt: extra.cancelRequestedAt,
    },
  });
}

async function settle(id: string) {
  const queue = getQueue('training', { prefix });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') return { state, job: await queue.getJob(id) };
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('training.run', () => {
  it('claims the row, records the attempt, and fails it with not_supported_yet', async () => {
    const row = await makeTrainingJob();
    const { id } = await enqueue(trainingRunJob, { jobId: row.id }, { prefix });
    const { state, job } = await settle(id);
    expect(state).toBe('failed');
    expect(job?.failedReason).toBe(`not_supported_yet: ${NOT_SUPPORTED_MESSAGE}`);
    expect(job?.attemptsMade).toBe(1); // a typed, non-retryable failure: no retries

    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({
      status: 'failed',
      errorCode: 'not_supported_yet',
      errorMessage: NOT_SUPPORTED_MESSAGE,
      attempt: 1,
      workerId: runtime.workerId,
      queueJobId: id,
    });
    expect(after.startedAt).toBeInstanceOf(Date);
    expect(after.finishedAt).toBeInstanceOf(Date);
    const events = await prisma.jobEvent.findMany({ where: { jobId: row.id }, orderBy: { createdAt: 'asc' } });
    expect(events.map((e) => e.level)).toEqual(['info', 'error']);
    expect(events[0].message).toContain(runtime.workerId);
  });

  it('fails a job whose row does not exist with not_found', async () => {
    const { id } = await enqueue(trainingRunJob, { jobId: 'does-not-exist' }, { prefix });
    const { state, job } = await settle(id);
    expect(state).toBe('failed');
    expect(job?.failedReason).toMatch(/^not_found: Training job does-not-exist does not exist/);
  });

  it('leaves a finished row alone and honours a cancel request', async () => {
    const done = await makeTrainingJob({ status: 'succeeded' });
    const r1 = await settle((await enqueue(trainingRunJob, { jobId: done.id }, { prefix })).id);
    expect(r1.state).toBe('completed');
    expect((await prisma.trainingJob.findUniqueOrThrow({ where: { id: done.id } })).status).toBe('succeeded');

    const cancelled = await makeTrainingJob({ cancelRequestedAt: new Date() });
    const r2 = await settle((await enqueue(trainingRunJob, { jobId: cancelled.id }, { prefix })).id);
    expect(r2.state).toBe('completed');
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: cancelled.id } });
    expect(after.status).toBe('cancelled');
    expect(after.attempt).toBe(0);
  });
});
