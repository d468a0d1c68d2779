// @vitest-environment node
/**
 * Fine-tuning end to end through the console API: the REST routes (estimate, create, list, detail, cancel,
 * metrics, events, checkpoints, SSE stream, model registry) and OpenAI's /v1/fine_tuning API driven by the
 * official `openai` client, with a real trainer worker (workers/trainer, in this process) on real Redis, Postgres
 * and local storage training a 2-layer model.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamJob } from '../../lib/server/routes/fine-tuning-stream';
import { startHousekeeping, useTestStorage } from './datasets-helpers';
import { APP_URL, addMember, call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';
import { startOpenaiServer } from './openai-server';
import { startTrainer, tearDownTraining } from './trainer-runtime';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-ft-api-'));
const saved = { ...process.env };

let runtime: Awaited<ReturnType<typeof startTrainer>> | undefined;
let server: Server;
let client: OpenAI;
let other: OpenAI;
let owner: TCaller & { email: string };
let viewer: TCaller & { email: string };
let baseId = '';
let baseName = '';
let publishedId = '';
let draftId = '';
/** ft-a's price per 1K training tokens for LoRA on the tiny model (the instance default is 0.003). */
const LORA_PRICE = 0.008;
/** The estimate's trained tokens for HP: the run must train exactly these. */
let estimatedTokens = 0;

function rows(n: number): string {
  return `${Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `What is ${i % 10} plus ${(i * 3) % 10}?` },
        { role: 'assistant', content: `It is ${(i % 10) + ((i * 3) % 10)}.` },
      ],
    }),
  ).join('\n')}\n`;
}

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, { REDIS_PREFIX: prefix, TRAINER_SCRATCH_DIR: scratch });
  await startTestDatabase();
  owner = await signUp('ft-owner');
  viewer = await signUp('ft-viewer');
  const a = await makeWorkspace(owner, 'ft-a');
  await makeWorkspace(owner, 'ft-b');
  await addMember(owner, 'ft-a', viewer, 'viewer');
  const keyA = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: owner,
    params: { slug: 'ft-a' },
    body: { name: 'sdk' },
  });
  const keyB = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: owner,
    params: { slug: 'ft-b' },
    body: { name: 'sdk' },
  });

  // The tiny model, imported into storage as `crucible models import` does, and two dataset versions.
  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const { initModel } = await import('@crucible/trainer');
  const { uploadDir } = await import('@crucible/storage');
  const prisma = getPrisma();
  const storage = getStorage();
  const modelDir = path.join(scratch, 'tiny');
  await initModel({ arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 3 }, modelDir);
  baseName = 'tiny-qwen';
  const base = await prisma.baseModel.create({
    data: { workspaceId: a.id, name: baseName, arch: 'qwen2', parameterCount: 5_000_000n },
  });
  const modelKey = `workspaces/${a.id}/models/${base.id}`;
  await uploadDir(storage, modelDir, modelKey);
  await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: modelKey } });
  baseId = base.id;
  // A price for this model and method only (issue 17): the estimate and the trainer's charges must both use it.
  const { createPriceList } = await import('@crucible/db/billing');
  await createPriceList({
    workspaceId: a.id,
    name: 'tiny LoRA',
    currency: 'USD',
    effectiveFrom: new Date(0),
    items: [
      {
        category: 'training',
        meter: 'training_tokens',
        unit: '1K tokens',
        unitPrice: String(LORA_PRICE),
        modelRef: baseName,
        method: 'sft_lora',
      },
    ],
  });
  const ds = await prisma.dataset.create({ data: { workspaceId: a.id, name: 'sums' } });
  for (const [n, status] of [
    [1, 'published'],
    [2, 'draft'],
  ] as const) {
    const objectKey = `workspaces/${a.id}/datasets/${ds.id}/v${n}.jsonl`;
    await storage.putObject(objectKey, Buffer.from(rows(8)));
    const v = await prisma.datasetVersion.create({
      data: {
        workspaceId: a.id,
        datasetId: ds.id,
        number: n,
        status,
        format: 'chatml',
        objectKey,
        sha256: '0'.repeat(64),
        rowCount: 8,
        tokenCount: 400n,
      },
    });
    if (status === 'published') publishedId = v.id;
    else draftId = v.id;
  }

  // POST /v1/files imports through the housekeeping worker's queue (issue 17): one runs here too, on this prefix.
  await startHousekeeping();
  runtime = await startTrainer(prefix);

  let baseURL: string;
  ({ server, baseURL } = await startOpenaiServer());
  client = new OpenAI({ apiKey: keyA.body.key, baseURL, maxRetries: 0 });
  other = new OpenAI({ apiKey: keyB.body.key, baseURL, maxRetries: 0 });
}, 120_000);

afterAll(() => tearDownTraining({ server, runtime, prefix, scratch, env: saved }), 60_000);

const P = '/api/workspaces/[slug]';
const HP = {
  epochs: 2,
  batchSize: 2,
  gradientAccumulationSteps: 1,
  learningRate: 1e-3,
  saveSteps: 3,
  loggingSteps: 2,
  cutoffLen: 64,
};

async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('fine-tuning REST', () => {
  it('lists base models and estimates a job from the price list', async () => {
    const list = await call('GET', `${P}/base-models`, { caller: viewer, params: { slug: 'ft-a' } });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      expect.objectContaining({
        id: baseId,
        name: baseName,
        arch: 'qwen2',
        parameterCount: 5_000_000,
        source: 'local',
      }),
    ]);

    const body = { baseModelId: baseId, trainingVersionId: publishedId, method: 'sft_lora', hyperparameters: HP };
    const est = await call('POST', `${P}/fine-tuning/estimate`, { caller: viewer, params: { slug: 'ft-a' }, body });
    expect(est.status).toBe(200);
    // Tokens are counted as the run counts them (the model's template and cutoff), not the import statistics (400).
    expect(est.body).toMatchObject({ epochs: 2, tokensExact: true, throughputMeasured: false, workerClass: 'cpu' });
    expect(est.body.datasetTokens).not.toBe(400);
    expect(est.body.trainedTokens).toBe(est.body.datasetTokens * 2);
    estimatedTokens = est.body.trainedTokens;
    expect(est.body.cost.currency).toBe('USD');
    expect(Number(est.body.cost.amount)).toBeCloseTo((estimatedTokens / 1000) * LORA_PRICE, 6);
    // Full fine-tuning of the same model: the LoRA item does not apply, the instance's generic price does.
    const full = await call('POST', `${P}/fine-tuning/estimate`, {
      caller: viewer,
      params: { slug: 'ft-a' },
      body: { ...body, method: 'sft_full' },
    });
    expect(Number(full.body.cost.amount)).toBeCloseTo((full.body.trainedTokens / 1000) * 0.003, 6);
    // No finished run of this model yet: a FLOP-rate guess with a range of half to twice it.
    expect(est.body.estimatedSeconds).toBe(Math.ceil(estimatedTokens / est.body.throughputTokensPerSec));
    expect(est.body.estimatedSecondsRange.low).toBeLessThanOrEqual(est.body.estimatedSeconds);
    expect(est.body.estimatedSecondsRange.high).toBeGreaterThanOrEqual(est.body.estimatedSeconds);

    // "auto" epochs as OpenAI: 8 examples -> ceil(100 / 8) = 13 epochs.
    const auto = await call('POST', `${P}/fine-tuning/estimate`, {
      caller: viewer,
      params: { slug: 'ft-a' },
      body: { ...body, hyperparameters: { epochs: 'auto' } },
    });
    expect(auto.body.epochs).toBe(13);
  });

  it('refuses a draft dataset version and a viewer', async () => {
    const body = { baseModelId: baseId, trainingVersionId: draftId, hyperparameters: HP };
    const draft = await call('POST', `${P}/fine-tuning/jobs`, { caller: owner, params: { slug: 'ft-a' }, body });
    expect(draft.status).toBe(400);
    expect(draft.body.error).toMatchObject({ code: 'invalid_request', param: 'trainingVersionId' });
    expect(draft.body.error.message).toMatch(/draft: publish it/);
    const asViewer = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: viewer,
      params: { slug: 'ft-a' },
      body: { ...body, trainingVersionId: publishedId },
    });
    expect(asViewer.status).toBe(403);
  });

  it('creates a job that a worker trains to success; metrics, events, checkpoints, stream and lineage', async () => {
    const created = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: 'ft-a' },
      body: {
        baseModelId: baseId,
        trainingVersionId: publishedId,
        method: 'sft_lora',
        suffix: 'rest',
        hyperparameters: HP,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      status: 'validating_files',
      method: 'sft_lora',
      baseModel: { id: baseId, name: baseName },
      datasetVersion: { id: publishedId, datasetName: 'sums', number: 1 },
      createdBy: { email: owner.email },
      fineTunedModel: null,
      error: null,
      cost: { currency: 'USD', estimated: true },
    });
    expect(Number(created.body.cost.amount)).toBeCloseTo((estimatedTokens / 1000) * LORA_PRICE, 6);
    expect(created.body.hyperparameters).toMatchObject({
      epochs: 2,
      loraRank: 8,
      loraAlpha: 16,
      lrScheduler: 'cosine',
    });
    const id = created.body.id as string;
    const params = { slug: 'ft-a', jobId: id };
    // A live SSE stream opened before the worker starts: it must carry every step and end on the final status.
    const sse = (accept: string) =>
      streamJob(
        new Request(`${APP_URL}/api/workspaces/ft-a/fine-tuning/jobs/${id}/stream`, {
          headers: { cookie: viewer.cookie ?? '', accept },
        }),
        params,
      );
    const liveText = sse('text/event-stream').then((r) => r.text());

    const done = await until('succeeded', async () => {
      const r = await call('GET', `${P}/fine-tuning/jobs/[jobId]`, { caller: viewer, params });
      return r.body.status === 'succeeded' || r.body.status === 'failed' ? r.body : null;
    });
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', progress: { step: 8, totalSteps: 8, percentage: 100 } });
    expect(done.workerId).toMatch(/^trainer-|.+/);
    expect(done.fineTunedModel.name).toBe(`ft:${baseName}:ft-a:rest:${id.slice(-8)}`);
    expect(done.cost.estimated).toBe(false);
    // The trainer charged through @crucible/billing at the model-and-method price, as the estimate said.
    expect(Number(done.cost.amount)).toBeCloseTo((done.trainedTokens / 1000) * LORA_PRICE, 6);
    // The estimate counted exactly the tokens the run trained on (issue 13: it was 33% low).
    expect(done.trainedTokens).toBe(estimatedTokens);
    // With one finished run, the time is that run's throughput plus its overhead: the same job's wall time.
    const again = await call('POST', `${P}/fine-tuning/estimate`, {
      caller: viewer,
      params: { slug: 'ft-a' },
      body: { baseModelId: baseId, trainingVersionId: publishedId, method: 'sft_lora', hyperparameters: HP },
    });
    expect(again.body.throughputMeasured).toBe(true);
    const wall = (Date.parse(done.finishedAt) - Date.parse(done.startedAt)) / 1000;
    expect(Math.abs(again.body.estimatedSeconds - wall)).toBeLessThanOrEqual(1);
    expect(again.body.estimatedSecondsRange).toEqual({
      low: again.body.estimatedSeconds,
      high: again.body.estimatedSeconds,
    });

    const metrics = await call('GET', `${P}/fine-tuning/jobs/[jobId]/metrics`, { caller: viewer, params });
    expect(metrics.body.data.map((m: { step: number }) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Object.keys(metrics.body.data[0]).sort()).toEqual(
      ['createdAt', 'epoch', 'evalLoss', 'gradNorm', 'loss', 'lr', 'step', 'tokensPerSec', 'tokensSeen'].sort(),
    );
    const events = await call('GET', `${P}/fine-tuning/jobs/[jobId]/events`, { caller: viewer, params });
    expect(events.body.data.at(-1).message).toMatch(/^Training finished/);
    const cps = await call('GET', `${P}/fine-tuning/jobs/[jobId]/checkpoints`, { caller: viewer, params });
    expect(cps.body.data.map((c: { step: number }) => c.step)).toEqual([3, 4, 6, 8]);

    const list = await call('GET', `${P}/fine-tuning/jobs`, { caller: viewer, params: { slug: 'ft-a' } });
    expect(list.body.data.map((j: { id: string }) => j.id)).toContain(id);
    const models = await call('GET', `${P}/fine-tuned-models`, { caller: viewer, params: { slug: 'ft-a' } });
    expect(models.body.data[0]).toMatchObject({
      name: done.fineTunedModel.name,
      baseModel: { id: baseId },
      datasetVersion: { id: publishedId, number: 1 },
      job: { id, status: 'succeeded' },
      hasGgufAdapter: true,
    });
    expect(models.body.data[0].trainLoss).toBeGreaterThan(0);

    // The SSE stream: history (8 metrics, the events), then the status; it ends because the job has ended.
    const live = await liveText;
    const liveSteps = [...live.matchAll(/^event: metric\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]).step as number);
    expect([...new Set(liveSteps)].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const statuses = [...live.matchAll(/^event: status\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]).status as string);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');

    const res = await sse('text/event-stream');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text.match(/^event: metric$/gm)).toHaveLength(8);
    expect(text.match(/^event: event$/gm)?.length).toBe(events.body.data.length);
    const status = text.split('\n\n').find((b) => b.startsWith('event: status'))!;
    expect(JSON.parse(status.split('\ndata: ')[1])).toMatchObject({ id, status: 'succeeded' });
    // Without Accept: text/event-stream, the same history as one JSON document.
    const snap = await call('GET', `${P}/fine-tuning/jobs/[jobId]/stream`, { caller: viewer, params });
    expect(snap.body.metrics).toHaveLength(8);
    expect(snap.body.job.id).toBe(id);
  });

  it('cancels a job; a finished job cannot be cancelled', async () => {
    const created = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: 'ft-a' },
      body: { baseModelId: baseId, trainingVersionId: publishedId, hyperparameters: { ...HP, epochs: 50 } },
    });
    const params = { slug: 'ft-a', jobId: created.body.id };
    const viewerTry = await call('POST', `${P}/fine-tuning/jobs/[jobId]/cancel`, { caller: viewer, params });
    expect(viewerTry.status).toBe(403);
    const c = await call('POST', `${P}/fine-tuning/jobs/[jobId]/cancel`, { caller: owner, params });
    expect(c.status).toBe(200);
    expect(c.body.cancelRequested).toBe(true);
    const end = await until('cancelled', async () => {
      const r = await call('GET', `${P}/fine-tuning/jobs/[jobId]`, { caller: viewer, params });
      return ['cancelled', 'succeeded', 'failed'].includes(r.body.status) ? r.body : null;
    });
    expect(end.status).toBe('cancelled');
    const again = await call('POST', `${P}/fine-tuning/jobs/[jobId]/cancel`, { caller: owner, params });
    expect(again.status).toBe(409);
  });
});

describe('OpenAI fine-tuning API with the official client', () => {
  it('uploads a file, creates a job, follows it to a fine-tuned model, lists events and checkpoints', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(rows(6)), 'sums.jsonl'),
      purpose: 'fine-tune',
    });
    const job = await client.fineTuning.jobs.create({
      model: baseName,
      training_file: file.id,
      suffix: 'sdk',
      seed: 5,
      hyperparameters: { n_epochs: 1, batch_size: 2, learning_rate_multiplier: 20 },
    });
    expect(job.id).toMatch(/^ftjob-/);
    expect(job).toMatchObject({
      object: 'fine_tuning.job',
      model: baseName,
      training_file: file.id,
      status: 'validating_files',
      fine_tuned_model: null,
      seed: 5,
      hyperparameters: { n_epochs: 1, batch_size: 2, learning_rate_multiplier: 20 },
    });

    const done = await until('succeeded', async () => {
      const j = await client.fineTuning.jobs.retrieve(job.id);
      return j.status === 'succeeded' || j.status === 'failed' ? j : null;
    });
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.fine_tuned_model).toBe(`ft:${baseName}:ft-a:sdk:${job.id.slice(-8)}`);
    expect(done.trained_tokens).toBeGreaterThan(0);

    const page = await client.fineTuning.jobs.list({ limit: 10 });
    expect(page.data.map((j) => j.id)).toContain(job.id);
    const events = await client.fineTuning.jobs.listEvents(job.id, { limit: 50 });
    expect(events.data[0].message).toMatch(/^Training finished/); // newest first
    expect(events.data.every((e) => e.object === 'fine_tuning.job.event')).toBe(true);
    const cps = await client.fineTuning.jobs.checkpoints.list(job.id);
    expect(cps.data.map((c) => c.step_number)).toEqual([3]); // 6 rows / batch 2 = 3 steps: the epoch end
    expect(cps.data[0].fine_tuned_model_checkpoint).toBe(`${done.fine_tuned_model}:ckpt-step-3`);

    // Errors in OpenAI's shape: cancelling a finished job, another workspace's key, an unknown model.
    await expect(client.fineTuning.jobs.cancel(job.id)).rejects.toMatchObject({ status: 409 });
    await expect(other.fineTuning.jobs.retrieve(job.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client.fineTuning.jobs.create({ model: 'no-such-model', training_file: file.id }),
    ).rejects.toMatchObject({ status: 400, param: 'model' });
  });
});
