import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { text as readAll } from 'node:stream/consumers';
import { disconnectAll, type PrismaClient, upsertTrainingMetric } from '@crucible/db';
import { blockDatabase, createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  closeQueues,
  closeRedisConnection,
  createRedisConnection,
  createWorkerRuntime,
  enqueue,
  getQueue,
  jobControlChannel,
  type THyperparameters,
  type TWorkerRuntime,
  trainingRunJob,
} from '@crucible/jobs';
import { dropPrefix } from '@crucible/jobs/testing';
import { downloadPrefix, getStorage, type Storage } from '@crucible/storage';
import { readPeftAdapter, splitValidation } from '@crucible/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainerJobs } from '../src/jobs';
import { liveChildren } from '../src/training/child-process';
import { makeFixture, type TFixture, tempRoot, tinyModelDir } from './helpers';

/**
 * training.run through the real queue (Redis), a fresh Postgres database and local object storage: a tiny model
 * trains to success, a cancel, a kill -9 of the training process with resume, duplicate metric delivery.
 */

let db: TTestDatabase;
let prisma: PrismaClient;
let runtime: TWorkerRuntime;
let storage: Storage;
let modelDir: string;
const root = tempRoot('crucible-trainer-test-');
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const saved = { ...process.env };

// 16 chats, batch 2: 8 steps per epoch, 2 epochs = 16 steps; checkpoints every 3 steps and at epoch ends.
const HP: THyperparameters = {
  epochs: 2,
  batchSize: 2,
  gradientAccumulationSteps: 1,
  learningRate: 2e-3,
  loraRank: 4,
  loraAlpha: 8,
  cutoffLen: 64,
  warmupRatio: 0.1,
  saveSteps: 3,
  loggingSteps: 2,
  seed: 11,
};
const ROWS = 16;
const STEPS = 16;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: join(root.dir, 'storage'),
    TRAINER_SCRATCH_DIR: join(root.dir, 'scratch'),
  });
  storage = getStorage();
  modelDir = await tinyModelDir(root.dir);
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
  for (const c of liveChildren.values()) c.process.kill('SIGKILL');
  await runtime?.closeRuntime({ graceMs: 0 });
  await closeQueues();
  await closeRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env = saved;
  root.remove();
});

async function createJob(f: TFixture, hp: THyperparameters = HP, extra: Record<string, unknown> = {}) {
  return prisma.trainingJob.create({
    data: {
      workspaceId: f.ws.id,
      baseModelId: f.base.id,
      trainingFileId: f.version.id,
      method: 'sft_lora',
      hyperparameters: hp,
      status: 'validating_files',
      suffix: 'sums',
      ...extra,
    },
  });
}

async function settle(id: string, timeoutMs = 90_000) {
  const queue = getQueue('training', { prefix });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') return { state, job: await queue.getJob(id) };
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function adapterOf(jobId: string, name: string) {
  const model = await prisma.fineTunedModel.findUniqueOrThrow({ where: { jobId } });
  const dir = join(root.dir, 'adapters', name);
  await downloadPrefix(storage, model.adapterObjectKey!, dir);
  return readPeftAdapter(dir).weights;
}

const steps = async (jobId: string) =>
  (await prisma.trainingMetric.findMany({ where: { jobId }, orderBy: { step: 'asc' } })).map((m) => m.step);

let straightJobId = '';

describe('training.run', () => {
  it('trains a tiny model to success through the queue and registers the fine-tuned model', async () => {
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    const row = await createJob(f);
    const { id } = await enqueue(trainingRunJob, { jobId: row.id }, { prefix });
    const { state, job } = await settle(id);
    expect(state, job?.failedReason).toBe('completed');
    straightJobId = row.id;

    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: 'succeeded', workerId: runtime.workerId, attempt: 1, currentStep: STEPS });
    expect(after.totalSteps).toBe(STEPS);
    expect(after.startedAt).toBeInstanceOf(Date);
    expect(after.finishedAt).toBeInstanceOf(Date);

    // One metric row per step, no gap; the loss falls from the random model's.
    const metrics = await prisma.trainingMetric.findMany({ where: { jobId: row.id }, orderBy: { step: 'asc' } });
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(metrics.at(-1)!.loss!).toBeLessThan(metrics[0].loss!);
    expect(Number(after.trainedTokens)).toBe(Number(metrics.at(-1)!.tokensSeen));

    // Checkpoints every 3 steps and at each epoch end (8, 16), in storage.
    const cps = await prisma.checkpoint.findMany({ where: { jobId: row.id }, orderBy: { step: 'asc' } });
    expect(cps.map((c) => c.step)).toEqual([3, 6, 8, 9, 12, 15, 16]);
    const files = (await storage.listObjects(`${cps[0].objectKey}/`)).map((o) => o.key.split('/').at(-1));
    expect(files).toEqual(
      expect.arrayContaining([
        'adapter_config.json',
        'adapter_model.safetensors',
        'train_state.bin',
        'trainer_state.json',
      ]),
    );

    // The fine-tuned model with lineage and outputs: PEFT adapter, GGUF adapter, trainer log.
    const model = await prisma.fineTunedModel.findUniqueOrThrow({ where: { jobId: row.id } });
    expect(model).toMatchObject({
      name: `ft:${f.base.name}:${f.ws.slug}:sums:${row.id.slice(-8)}`,
      baseModelId: f.base.id,
      datasetVersionId: f.version.id,
      method: 'sft_lora',
      workspaceId: f.ws.id,
    });
    expect(model.trainLoss).toBeGreaterThan(0);
    const out = (await storage.listObjects(`${model.adapterObjectKey}/`)).map((o) => o.key.split('/').at(-1));
    expect(out).toEqual(
      expect.arrayContaining(['adapter_model.safetensors', 'adapter_config.json', 'trainer_log.jsonl', 'adapter.gguf']),
    );
    expect(model.ggufAdapterObjectKey).toBe(`${model.adapterObjectKey}/adapter.gguf`);

    // Usage: every trained token charged once, at the default price (0.003 per 1K tokens).
    const usage = await prisma.usageRecord.findMany({ where: { jobId: row.id }, orderBy: { idempotencyKey: 'asc' } });
    expect(usage.map((u) => u.idempotencyKey)).toEqual([`training:${row.id}:tokens:0`, `training:${row.id}:tokens:1`]);
    const tokens = usage.reduce((a, u) => a + Number(u.quantity) * 1000, 0);
    expect(tokens).toBeCloseTo(Number(after.trainedTokens), 6);
    const amount = usage.reduce((a, u) => a + Number(u.amount), 0);
    expect(amount).toBeCloseTo((Number(after.trainedTokens) / 1000) * 0.003, 9);

    const events = await prisma.jobEvent.findMany({ where: { jobId: row.id } });
    expect(events.some((e) => e.message.includes(runtime.workerId))).toBe(true);
    expect(events.some((e) => e.message.startsWith('Training finished'))).toBe(true);
    // Issue 13, item 11: every event of a real run has a code the console translates — a line of the training core
    // that trainerLogEvent() does not know lands as trainer_log (English on a Chinese page) and fails here.
    expect(events.filter((e) => !e.code || e.code === 'trainer_log').map((e) => e.message)).toEqual([]);
    expect(new Set(events.map((e) => e.code))).toEqual(
      new Set([
        'worker_claimed',
        'trainer_examples',
        'trainer_backend',
        'training_progress',
        'checkpoint_saved',
        'training_finished',
      ]),
    );
  });

  it('a step delivered twice is one metric row', async () => {
    const m = await prisma.trainingMetric.findFirstOrThrow({ where: { jobId: straightJobId, step: 5 } });
    const again = {
      workspaceId: m.workspaceId,
      jobId: m.jobId,
      step: 5,
      loss: m.loss,
      tokensSeen: Number(m.tokensSeen),
    };
    await upsertTrainingMetric(again, prisma);
    await upsertTrainingMetric({ ...again, evalLoss: 1.5 }, prisma);
    const rows = await prisma.trainingMetric.findMany({ where: { jobId: straightJobId, step: 5 } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ loss: m.loss, evalLoss: 1.5, learningRate: m.learningRate });
  });

  it('a Postgres outage mid-run loses no metric, checkpoint or billed token (issue 11, finding 4)', async () => {
    // The same job as the uninterrupted run above; the database refuses every connection (and drops the open ones)
    // from the moment the child reports step 4 until 6 s later, so the rest of the run, its end, and the writes of
    // its last steps all happen during the outage.
    expect(straightJobId).not.toBe('');
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    const row = await createJob(f);
    const { id } = await enqueue(trainingRunJob, { jobId: row.id }, { prefix });
    const child = await waitFor('the training child', async () => liveChildren.get(row.id));
    let blockedAt = 0;
    let outage: Promise<void> | null = null;
    child.process.on('message', (m: { type: string; event?: { type: string; step: number } }) => {
      if (blockedAt === 0 && m.type === 'event' && m.event?.type === 'metrics' && m.event.step >= 4) {
        blockedAt = m.event.step;
        outage = blockDatabase(db.url).then(async (unblock) => {
          await new Promise((r) => setTimeout(r, 6_000));
          await unblock();
        });
      }
    });
    const exit = await child.exited;
    expect(exit.result?.status).toBe('completed');
    expect(blockedAt).toBeGreaterThanOrEqual(4);
    expect(blockedAt).toBeLessThan(STEPS);
    await outage;
    const { state, job } = await settle(id);
    expect(state, job?.failedReason).toBe('completed');

    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    const straight = await prisma.trainingJob.findUniqueOrThrow({ where: { id: straightJobId } });
    expect(after).toMatchObject({ status: 'succeeded', attempt: 1, errorMessage: null, currentStep: STEPS });

    // Every metric step, every checkpoint, and exactly the trained tokens billed: the same as without the outage.
    const a = await prisma.trainingMetric.findMany({ where: { jobId: straightJobId }, orderBy: { step: 'asc' } });
    const b = await prisma.trainingMetric.findMany({ where: { jobId: row.id }, orderBy: { step: 'asc' } });
    expect(b.map((m) => m.step)).toEqual(a.map((m) => m.step));
    for (let i = 0; i < a.length; i++) expect(b[i].loss!).toBeCloseTo(a[i].loss!, 6);
    const cpSteps = async (jobId: string) =>
      (await prisma.checkpoint.findMany({ where: { jobId }, orderBy: { step: 'asc' } })).map((c) => c.step);
    expect(await cpSteps(row.id)).toEqual(await cpSteps(straightJobId));
    const billed = async (jobId: string) => {
      const usage = await prisma.usageRecord.findMany({ where: { jobId }, orderBy: { idempotencyKey: 'asc' } });
      return usage.map((u) => ({ window: u.idempotencyKey.split(':').at(-1), tokens: Number(u.quantity) * 1000 }));
    };
    expect(await billed(row.id)).toEqual(await billed(straightJobId));
    expect(Number(after.trainedTokens)).toBe(Number(straight.trainedTokens));
    const events = await prisma.jobEvent.findMany({ where: { jobId: row.id } });
    expect(events.some((e) => e.message.startsWith('Training finished'))).toBe(true);
  }, 120_000);

  it('a kill -9 of the training process resumes from the last checkpoint and ends with the same adapter', async () => {
    expect(straightJobId).not.toBe('');
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    const row = await createJob(f);
    const { id } = await enqueue(
      trainingRunJob,
      { jobId: row.id },
      { prefix, job: { backoff: { type: 'fixed', delay: 200 } } },
    );
    // Kill the child the moment it reports step 5 (past the checkpoint at step 3), from its own IPC message, so
    // a fast machine cannot finish the run before the kill lands.
    const child = await waitFor('the training child', async () => liveChildren.get(row.id));
    let killedAt = 0;
    child.process.on('message', (m: { type: string; event?: { type: string; step: number } }) => {
      if (killedAt === 0 && m.type === 'event' && m.event?.type === 'metrics' && m.event.step >= 5) {
        killedAt = m.event.step;
        child.process.kill('SIGKILL');
      }
    });
    await child.exited;
    expect(killedAt).toBeGreaterThanOrEqual(5);
    expect(killedAt).toBeLessThan(STEPS); // still mid-run

    const { state, job } = await settle(id);
    expect(state, job?.failedReason).toBe('completed');
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after.status).toBe('succeeded');
    expect(after.attempt).toBe(2);
    const events = await prisma.jobEvent.findMany({ where: { jobId: row.id } });
    // The kill came after the checkpoint at step 3: the event names it instead of a promise it cannot check.
    expect(events.some((e) => /was killed \(SIGKILL\).*resumes from its checkpoint at step \d+/.test(e.message))).toBe(
      true,
    );
    expect(events.some((e) => e.message.startsWith('Resuming from the checkpoint at step'))).toBe(true);

    // Metrics continue without a gap or a duplicate; the same per-step values as the uninterrupted run.
    const a = await prisma.trainingMetric.findMany({ where: { jobId: straightJobId }, orderBy: { step: 'asc' } });
    const b = await prisma.trainingMetric.findMany({ where: { jobId: row.id }, orderBy: { step: 'asc' } });
    expect(b.map((m) => m.step)).toEqual(a.map((m) => m.step));
    for (let i = 0; i < a.length; i++) expect(b[i].loss!).toBeCloseTo(a[i].loss!, 6);
    expect(Number(after.trainedTokens)).toBe(Number(a.at(-1)!.tokensSeen));

    // The final adapter equals the uninterrupted run's. Tolerance: the training core resumes bit for bit
    // (packages/trainer resume test); 1e-6 absolute leaves room only for float summation order.
    const wa = await adapterOf(straightJobId, 'straight');
    const wb = await adapterOf(row.id, 'resumed');
    expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
    let maxDiff = 0;
    for (const [k, t] of wa) {
      const u = wb.get(k)!;
      for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u.data[i]));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-6);

    // Usage is charged once per window even though steps after the checkpoint ran twice.
    const usage = await prisma.usageRecord.findMany({ where: { jobId: row.id } });
    const tokens = usage.reduce((s, u) => s + Number(u.quantity) * 1000, 0);
    expect(tokens).toBeCloseTo(Number(after.trainedTokens), 6);
  });

  it('a worker shutting down checkpoints the current step and hands the job back; another worker finishes it', async () => {
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    const row = await createJob(f);
    const { id } = await enqueue(trainingRunJob, { jobId: row.id }, { prefix });
    const first = runtime.workerId;
    const old = runtime;
    // Shut the worker down when the child reports step 4 (what SIGTERM does once the grace period is over).
    const child = await waitFor('the training child', async () => liveChildren.get(row.id));
    const closed = new Promise<void>((resolve) => {
      child.process.on('message', (m: { type: string; event?: { type: string; step: number } }) => {
        if (m.type === 'event' && m.event?.type === 'metrics' && m.event.step === 4)
          resolve(old.closeRuntime({ graceMs: 0 }));
      });
    });
    await closed;
    const handedBack = await waitFor('the hand-back', async () => {
      const r = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
      return r.status === 'queued' && r;
    });
    expect(handedBack.workerId).toBe(first);
    // The checkpoint is of the step the child stopped at, not only the last save_steps one.
    const lastStep = (await steps(row.id)).at(-1)!;
    const cp = await waitFor('the hand-back checkpoint', () =>
      prisma.checkpoint.findFirst({ where: { jobId: row.id, step: lastStep } }),
    );
    expect(cp.step).toBeLessThan(STEPS);

    runtime = createWorkerRuntime({
      kind: 'trainer',
      queue: 'training',
      jobs: trainerJobs,
      prefix,
      handleSignals: false,
      log: () => {},
    });
    await runtime.ready;
    const { state, job } = await settle(id);
    expect(state, job?.failedReason).toBe('completed');
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: 'succeeded', workerId: runtime.workerId });
    const events = await prisma.jobEvent.findMany({ where: { jobId: row.id } });
    expect(events.some((e) => e.message === `Resuming from the checkpoint at step ${lastStep}.`)).toBe(true);
    expect(await steps(row.id)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // Same tolerance as the kill -9 case.
    const wa = await adapterOf(straightJobId, 'straight-2');
    const wb = await adapterOf(row.id, 'handed-back');
    let maxDiff = 0;
    for (const [k, t] of wa) {
      const u = wb.get(k)!;
      for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u.data[i]));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
  });

  it('cancel reaches the child within a step; the job ends cancelled with partial usage and no retry', async () => {
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    const row = await createJob(f, { ...HP, epochs: 40 }); // 320 steps: far from done when cancelled
    const { id } = await enqueue(trainingRunJob, { jobId: row.id }, { prefix });
    await waitFor('step 3', () => prisma.trainingMetric.findFirst({ where: { jobId: row.id, step: { gte: 3 } } }));
    await prisma.trainingJob.update({ where: { id: row.id }, data: { cancelRequestedAt: new Date() } });
    await redis.publish(jobControlChannel(prefix, row.id), JSON.stringify({ type: 'cancel' }));

    const { state, job } = await settle(id);
    expect(state).toBe('completed');
    expect(job?.attemptsMade).toBe(1);
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after.status).toBe('cancelled');
    expect(after.finishedAt).toBeInstanceOf(Date);
    expect(after.currentStep).toBeLessThan(320);
    expect(await prisma.fineTunedModel.findUnique({ where: { jobId: row.id } })).toBeNull();
    const last = await prisma.trainingMetric.findFirstOrThrow({ where: { jobId: row.id }, orderBy: { step: 'desc' } });
    const usage = await prisma.usageRecord.findMany({ where: { jobId: row.id } });
    expect(usage.reduce((s, u) => s + Number(u.quantity) * 1000, 0)).toBeCloseTo(Number(last.tokensSeen), 6);
  });

  it('saveTotalLimit keeps the newest checkpoints: older ones are deleted from storage and marked pruned', async () => {
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    const row = await createJob(f, { ...HP, saveTotalLimit: 2 });
    const { id } = await enqueue(trainingRunJob, { jobId: row.id }, { prefix });
    const { state, job } = await settle(id);
    expect(state, job?.failedReason).toBe('completed');
    // Saves at 3, 6, 8, 9, 12, 15, 16 (every 3 steps and at epoch ends); only the newest two are kept.
    const cps = await prisma.checkpoint.findMany({ where: { jobId: row.id }, orderBy: { step: 'asc' } });
    const kept = cps.filter((c) => c.prunedAt === null).map((c) => c.step);
    expect(kept).toEqual([15, 16]);
    for (const c of cps) {
      const objects = await storage.listObjects(`${c.objectKey}/`);
      if (c.prunedAt === null) expect(objects.length, `checkpoint-${c.step}`).toBeGreaterThan(0);
      else expect(objects, `checkpoint-${c.step} was pruned`).toEqual([]);
    }
    expect(cps.filter((c) => c.prunedAt !== null).length).toBeGreaterThan(0);
  });

  it('a validation split reports eval loss per evalSteps and on the fine-tuned model', async () => {
    const f = await makeFixture(prisma, storage, modelDir, ROWS);
    // 16 rows, 25% held out: 12 train rows, batch 2 -> 6 steps per epoch, 12 steps; eval every 4 steps.
    const row = await createJob(f, { ...HP, valSplit: 0.25, evalSteps: 4 });
    const { state, job } = await settle((await enqueue(trainingRunJob, { jobId: row.id }, { prefix })).id);
    expect(state, job?.failedReason).toBe('completed');
    const metrics = await prisma.trainingMetric.findMany({ where: { jobId: row.id }, orderBy: { step: 'asc' } });
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(metrics.filter((m) => m.evalLoss !== null).map((m) => m.step)).toEqual([4, 8, 12]);
    // The eval row is the same row as the step's training metrics (one row per step).
    expect(metrics.find((m) => m.step === 8)!.loss).not.toBeNull();
    const model = await prisma.fineTunedModel.findUniqueOrThrow({ where: { jobId: row.id } });
    expect(model.evalLoss).toBeCloseTo(metrics.find((m) => m.step === 12)!.evalLoss!, 6);
    // The held-out rows are stored beside the job, as the version stored them: exactly the rows the training
    // core's seeded split (splitValidation, the job's seed) picks, so an evaluation scores on rows never trained on.
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after.heldOutRowCount).toBe(4);
    expect(after.heldOutObjectKey).toBe(`workspaces/${f.ws.id}/jobs/${row.id}/held-out.jsonl`);
    const stored = (await readAll(await storage.getObject(after.heldOutObjectKey!))).trim().split('\n');
    const all = (await readAll(await storage.getObject(f.version.objectKey))).trim().split('\n');
    const picked = splitValidation(
      all.map((_, i) => i),
      0.25,
      Number(HP.seed),
    ).eval;
    expect(stored).toEqual(picked.map((i) => all[i]));
  });

  it('fails with a typed, actionable error when the dataset version is a draft', async () => {
    const f = await makeFixture(prisma, storage, modelDir, 4, 'draft');
    const row = await createJob(f);
    const { state, job } = await settle((await enqueue(trainingRunJob, { jobId: row.id }, { prefix })).id);
    expect(state).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: 'failed', errorCode: 'invalid_file', errorParam: 'training_file' });
    expect(after.errorMessage).toMatch(/publish it/);
  });

  it('a training file with no usable example fails as invalid_training_file, without retries', async () => {
    const f = await makeFixture(prisma, storage, modelDir, 4);
    // Every row lacks the assistant reply: LLaMA-Factory drops them all, leaving nothing to train on.
    const bad = `${JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] })}\n`.repeat(4);
    await storage.putObject(f.version.objectKey, Buffer.from(bad));
    const row = await createJob(f);
    const { state, job } = await settle((await enqueue(trainingRunJob, { jobId: row.id }, { prefix })).id);
    expect(state).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: 'failed', errorCode: 'invalid_training_file', errorParam: 'training_file' });
    expect(after.errorMessage).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
  });

  it('fails a job whose row does not exist with not_found', async () => {
    const { id } = await enqueue(trainingRunJob, { jobId: 'does-not-exist' }, { prefix });
    const { state, job } = await settle(id);
    expect(state).toBe('failed');
    expect(job?.failedReason).toMatch(/^not_found: Training job does-not-exist does not exist/);
  });

  it('leaves a finished row alone and honours a cancel request made before it started', async () => {
    const f = await makeFixture(prisma, storage, modelDir, 4);
    const done = await createJob(f, HP, { status: 'succeeded' });
    const r1 = await settle((await enqueue(trainingRunJob, { jobId: done.id }, { prefix })).id);
    expect(r1.state).toBe('completed');
    expect((await prisma.trainingJob.findUniqueOrThrow({ where: { id: done.id } })).status).toBe('succeeded');

    const cancelled = await createJob(f, HP, { cancelRequestedAt: new Date() });
    const r2 = await settle((await enqueue(trainingRunJob, { jobId: cancelled.id }, { prefix })).id);
    expect(r2.state).toBe('completed');
    const after = await prisma.trainingJob.findUniqueOrThrow({ where: { id: cancelled.id } });
    expect(after.status).toBe('cancelled');
    expect(after.attempt).toBe(0);
  });
});
