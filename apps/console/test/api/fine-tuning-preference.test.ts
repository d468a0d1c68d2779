// @vitest-environment node
/**
 * Preference training through the platform (issue 15): LLaMA-Factory's dpo_en_demo.json and kto_en_demo.json import
 * through their dataset_info entries; jobs refuse datasets of the wrong kind; a DPO job trains dpo_en_demo on the
 * instance's demo model through a real trainer worker (in this process, real Redis, Postgres and storage), its TRL
 * metrics land and it is billed at the seeded `dpo` price for the tokens the estimate counted; an SFT LoRA model
 * continues with DPO; OpenAI's `method: {type: "dpo"}` through the official `openai` client.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHousekeeping, uploadAndImport, useTestStorage } from './datasets-helpers';
import { call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';
import { startOpenaiServer } from './openai-server';
import { startTrainer, tearDownTraining } from './trainer-runtime';

const FIXTURES =
  process.env.CRUCIBLE_LF_FIXTURES ?? fileURLToPath(new URL('../../../../fixtures/llamafactory', import.meta.url));
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-pref-api-'));
const saved = { ...process.env };
const SLUG = 'pref';
const P = '/api/workspaces/[slug]';
/** The seeded default prices (packages/db DEFAULT_PRICE_ITEMS): preference training and SFT, per 1K tokens. */
const DPO_PRICE = 0.006;

let runtime: Awaited<ReturnType<typeof startTrainer>> | undefined;
let server: Server;
let client: OpenAI;
let owner: TCaller;
let demoId = '';
const versions = { dpo: '', kto: '', chat: '', pairs: '' };

/** Small OpenAI DPO rows: the model can learn to prefer the short right answer. */
function pairs(n: number): string {
  return `${Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      input: { messages: [{ role: 'user', content: `What is ${i} plus ${i}?` }] },
      preferred_output: [{ role: 'assistant', content: `${2 * i}.` }],
      non_preferred_output: [{ role: 'assistant', content: `I do not know, maybe ${i + 7} or so.` }],
    }),
  ).join('\n')}\n`;
}
function chats(n: number): string {
  return `${Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `What is ${i} plus ${i}?` },
        { role: 'assistant', content: `${2 * i}.` },
      ],
    }),
  ).join('\n')}\n`;
}

async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function publish(datasetId: string, versionId: string) {
  const r = await call('POST', `${P}/datasets/[datasetId]/versions/[versionId]/publish`, {
    caller: owner,
    params: { slug: SLUG, datasetId, versionId },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function finished(jobId: string) {
  return until(`job ${jobId}`, async () => {
    const r = await call('GET', `${P}/fine-tuning/jobs/[jobId]`, { caller: owner, params: { slug: SLUG, jobId } });
    return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : null;
  });
}

const metricsOf = async (jobId: string) =>
  (await call('GET', `${P}/fine-tuning/jobs/[jobId]/metrics`, { caller: owner, params: { slug: SLUG, jobId } })).body
    .data as Array<Record<string, number>>;

beforeAll(async () => {
  useTestStorage();
  // TRAINER_NICE 0: the training child is the only work of this file, and on a shared 2-core machine a niced child
  // waits behind everyone else's processes.
  Object.assign(process.env, { REDIS_PREFIX: prefix, TRAINER_SCRATCH_DIR: scratch, TRAINER_NICE: '0' });
  await startTestDatabase();
  await startHousekeeping();
  owner = await signUp('pref-owner');
  await makeWorkspace(owner, SLUG);
  const key = await call('POST', `${P}/api-keys`, { caller: owner, params: { slug: SLUG }, body: { name: 'sdk' } });
  const { seedDemoModel } = await import('@crucible/services/models');
  demoId = (await seedDemoModel()).id;

  runtime = await startTrainer(prefix);
  let baseURL: string;
  ({ server, baseURL } = await startOpenaiServer());
  client = new OpenAI({ apiKey: key.body.key, baseURL, maxRetries: 0 });
}, 120_000);

afterAll(() => tearDownTraining({ server, runtime, prefix, scratch, env: saved }), 60_000);

describe('preference datasets', () => {
  it('imports dpo_en_demo.json and kto_en_demo.json through their dataset_info entries', async () => {
    const info = readFileSync(path.join(FIXTURES, 'dataset_info.json'), 'utf8');
    for (const [name, kind] of [
      ['dpo_en_demo.json', 'preference'],
      ['kto_en_demo.json', 'kto'],
    ] as const) {
      const res = await uploadAndImport(owner, SLUG, name, readFileSync(path.join(FIXTURES, name)), {
        datasetInfo: info,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.version.rowCount).toBe(300);
      await publish(res.datasetId, res.body.version.id);
      const list = await call('GET', `${P}/datasets/[datasetId]/versions`, {
        caller: owner,
        params: { slug: SLUG, datasetId: res.datasetId },
      });
      expect(list.body.data[0]).toMatchObject({ id: res.body.version.id, kind });
      versions[kind === 'preference' ? 'dpo' : 'kto'] = res.body.version.id;
      const v = await call('GET', `${P}/datasets/[datasetId]/versions/[versionId]`, {
        caller: owner,
        params: { slug: SLUG, datasetId: res.datasetId, versionId: res.body.version.id },
      });
      if (kind === 'kto') {
        const { desirable, undesirable } = v.body.stats.labels;
        expect(desirable + undesirable).toBe(300);
        expect(desirable).toBeGreaterThan(0);
        expect(undesirable).toBeGreaterThan(0);
      } else {
        // Token lengths of prompt, chosen and rejected, per pair.
        for (const part of ['prompt', 'chosen', 'rejected']) {
          expect(v.body.stats.pairTokens[part].min).toBeGreaterThan(0);
          expect(v.body.stats.pairTokens[part].p50).toBeGreaterThanOrEqual(v.body.stats.pairTokens[part].min);
        }
      }
    }
    for (const [name, text, k] of [
      ['chats.jsonl', chats(4), 'chat'],
      ['pairs.jsonl', pairs(4), 'pairs'],
    ] as const) {
      const res = await uploadAndImport(owner, SLUG, name, text);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await publish(res.datasetId, res.body.version.id);
      versions[k] = res.body.version.id;
    }
  }, 240_000);
});

describe('preference jobs', () => {
  it('refuse a dataset of another kind, and settings of another stage, naming the field', async () => {
    const post = (body: Record<string, unknown>) =>
      call('POST', `${P}/fine-tuning/estimate`, {
        caller: owner,
        params: { slug: SLUG },
        body: { baseModelId: demoId, hyperparameters: { epochs: 1 }, ...body },
      });
    for (const [method, version, holds] of [
      ['dpo_lora', versions.chat, /holds chat \(SFT\) rows; a dpo job .* trains on preference pairs/],
      ['kto_lora', versions.dpo, /holds preference pairs .*; a kto job .* trains on KTO rows/],
      ['sft_lora', versions.kto, /holds KTO rows .*; a sft job/],
      ['sft_full', versions.dpo, /holds preference pairs/],
    ] as const) {
      const r = await post({ method, trainingVersionId: version });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_request', param: 'trainingVersionId' });
      expect(r.body.error.message).toMatch(holds);
    }
    const stray = await post({
      method: 'sft_lora',
      trainingVersionId: versions.chat,
      hyperparameters: { prefBeta: 1 },
    });
    expect(stray.status).toBe(400);
    expect(stray.body.error.param).toBe('hyperparameters.prefBeta');
    const smoothing = await post({
      method: 'dpo_lora',
      trainingVersionId: versions.dpo,
      hyperparameters: { prefLoss: 'ipo', dpoLabelSmoothing: 0.1 },
    });
    expect(smoothing.body.error.param).toBe('hyperparameters.dpoLabelSmoothing');
  });

  it('trains dpo_en_demo on the demo model through the trainer worker: TRL metrics land, billed at the dpo price for the estimated tokens', async () => {
    const hp = {
      epochs: 1,
      batchSize: 10,
      gradientAccumulationSteps: 1,
      learningRate: 1e-3,
      cutoffLen: 48,
      loggingSteps: 10,
      saveSteps: 1000,
      checkpointEachEpoch: false,
    };
    const body = { baseModelId: demoId, trainingVersionId: versions.dpo, method: 'dpo_lora', hyperparameters: hp };
    const est = await call('POST', `${P}/fine-tuning/estimate`, { caller: owner, params: { slug: SLUG }, body });
    expect(est.status, JSON.stringify(est.body)).toBe(200);
    expect(est.body.tokensExact).toBe(true);
    // Both sequences of each pair: at least 300 x 2 sequences, each longer than the answer alone.
    expect(est.body.datasetTokens).toBeGreaterThan(600);
    expect(Number(est.body.cost.amount)).toBeCloseTo((est.body.trainedTokens / 1000) * DPO_PRICE, 6);

    const created = await call('POST', `${P}/fine-tuning/jobs`, { caller: owner, params: { slug: SLUG }, body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ method: 'dpo_lora', fromModel: null });
    expect(created.body.hyperparameters).toMatchObject({ prefBeta: 0.1, prefLoss: 'sigmoid', prefFtx: 0 });
    const done = await finished(created.body.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.progress.step).toBe(30); // 300 pairs / 10
    // The run trained exactly the tokens the estimate counted (both sequences of every pair) and paid the dpo item.
    expect(done.trainedTokens).toBe(est.body.trainedTokens);
    expect(Number(done.cost.amount)).toBeCloseTo((done.trainedTokens / 1000) * DPO_PRICE, 6);

    const metrics = await metricsOf(created.body.id);
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const m of metrics) {
      for (const k of [
        'rewards/chosen',
        'rewards/rejected',
        'rewards/accuracies',
        'rewards/margins',
        'logps/chosen',
        'logps/rejected',
      ]) {
        expect(Number.isFinite(m[k]), `${k} at step ${m.step}`).toBe(true);
      }
      expect(m['rewards/margins']).toBeCloseTo(m['rewards/chosen'] - m['rewards/rejected'], 5);
    }
    // Step 1: the policy is its reference (LoRA B = 0), so every reward is 0 and the loss is ln 2.
    expect(metrics[0]['rewards/margins']).toBeCloseTo(0, 6);
    expect(metrics[0].loss).toBeCloseTo(Math.LN2, 4);
  }, 600_000);

  it('continues an SFT LoRA model with DPO: its adapter goes on, and margins grow on pairs it can learn', async () => {
    const sft = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: SLUG },
      body: {
        baseModelId: demoId,
        trainingVersionId: versions.chat,
        method: 'sft_lora',
        suffix: 'sft',
        hyperparameters: { epochs: 1, batchSize: 4, gradientAccumulationSteps: 1, cutoffLen: 32, loraRank: 4 },
      },
    });
    expect(sft.status, JSON.stringify(sft.body)).toBe(201);
    const sftDone = await finished(sft.body.id);
    expect(sftDone.status).toBe('succeeded');
    const fromModelId = sftDone.fineTunedModel.id as string;

    const body = {
      fromModelId,
      trainingVersionId: versions.pairs,
      method: 'dpo_lora',
      suffix: 'dpo',
      hyperparameters: {
        epochs: 8,
        batchSize: 4,
        gradientAccumulationSteps: 1,
        learningRate: 5e-3,
        cutoffLen: 32,
        saveSteps: 1000,
        checkpointEachEpoch: false,
      },
    };
    // A LoRA model's adapter continues as LoRA only.
    const full = await call('POST', `${P}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: SLUG },
      body: { ...body, method: 'dpo_full' },
    });
    expect(full.status).toBe(400);
    expect(full.body.error).toMatchObject({ param: 'method' });
    expect(full.body.error.message).toMatch(/is a LoRA model: its adapter continues with a LoRA method \(dpo_lora\)/);

    const dpo = await call('POST', `${P}/fine-tuning/jobs`, { caller: owner, params: { slug: SLUG }, body });
    expect(dpo.status, JSON.stringify(dpo.body)).toBe(201);
    expect(dpo.body).toMatchObject({
      baseModel: { id: demoId },
      fromModel: { id: fromModelId, name: sftDone.fineTunedModel.name },
    });
    const done = await finished(dpo.body.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const events = await call('GET', `${P}/fine-tuning/jobs/[jobId]/events`, {
      caller: owner,
      params: { slug: SLUG, jobId: dpo.body.id },
    });
    // The SFT adapter (rank 4, not the default 8) went on: the training core says so and the result keeps its shape.
    const said = events.body.data.map((e: { message: string }) => e.message).join('\n');
    expect(said).toMatch(/continuing adapter adapter/);
    const { getPrisma } = await import('@crucible/db');
    const { getStorage } = await import('@crucible/storage');
    const model = await getPrisma().fineTunedModel.findUniqueOrThrow({ where: { id: done.fineTunedModel.id } });
    const stream = await getStorage().getObject(`${model.adapterObjectKey}/adapter_config.json`);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject({ r: 4 });
    const metrics = await metricsOf(dpo.body.id);
    expect(metrics).toHaveLength(8);
    // The reference is the base with the adapter off (LLaMA-Factory's choice for a continued LoRA adapter), so the
    // SFT adapter already makes step 1's margins differ from 0. On 4 pairs seen 8 times they grow, and every pair
    // ends up ranked right.
    expect(metrics.at(-1)?.['rewards/margins']).toBeGreaterThan(metrics[0]['rewards/margins'] + 0.01);
    expect(metrics.at(-1)?.['rewards/margins']).toBeGreaterThan(0);
    expect(metrics.at(-1)?.['rewards/accuracies']).toBe(1);
  }, 600_000);
});

describe('OpenAI fine-tuning API: method dpo and supervised', () => {
  it('creates a DPO job with method {type: "dpo"} and returns the method as OpenAI does', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(pairs(4)), 'pairs.jsonl'),
      purpose: 'fine-tune',
    });
    const job = await client.fineTuning.jobs.create({
      model: 'crucible-demo',
      training_file: file.id,
      suffix: 'oa-dpo',
      method: {
        type: 'dpo',
        dpo: { hyperparameters: { beta: 0.25, n_epochs: 2, batch_size: 2, learning_rate_multiplier: 10 } },
      },
    });
    const method = {
      type: 'dpo',
      dpo: { hyperparameters: { beta: 0.25, n_epochs: 2, batch_size: 2, learning_rate_multiplier: 10 } },
    };
    expect(job).toMatchObject({
      object: 'fine_tuning.job',
      model: 'crucible-demo',
      status: 'validating_files',
      method,
    });
    const done = await until('the dpo job', async () => {
      const j = await client.fineTuning.jobs.retrieve(job.id);
      return ['succeeded', 'failed'].includes(j.status) ? j : null;
    });
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.method).toEqual(method);
    expect(done.fine_tuned_model).toBe(`ft:crucible-demo:${SLUG}:oa-dpo:${job.id.slice(-8)}`);
    const metrics = await metricsOf(job.id.slice('ftjob-'.length));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    expect(metrics[3]['rewards/accuracies']).toBeGreaterThanOrEqual(0);

    // Supervised, as OpenAI documents it; DPO on a chat file is refused by the file's param.
    const chatFile = await client.files.create({
      file: await toFile(Buffer.from(chats(4)), 'chats.jsonl'),
      purpose: 'fine-tune',
    });
    const sft = await client.fineTuning.jobs.create({
      model: 'crucible-demo',
      training_file: chatFile.id,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1, batch_size: 4 } } },
    });
    expect(sft.method).toMatchObject({
      type: 'supervised',
      supervised: { hyperparameters: { n_epochs: 1, batch_size: 4 } },
    });
    await client.fineTuning.jobs.cancel(sft.id).catch(() => {});
    await expect(
      client.fineTuning.jobs.create({ model: 'crucible-demo', training_file: chatFile.id, method: { type: 'dpo' } }),
    ).rejects.toMatchObject({ status: 400, param: 'training_file' });
  }, 600_000);
});
