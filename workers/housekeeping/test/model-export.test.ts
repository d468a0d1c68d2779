import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disconnectAll, type PrismaClient } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  closeQueues,
  closeRedisConnection,
  createRedisConnection,
  enqueue,
  getQueue,
  modelExportJob,
  QUEUE_NAMES,
  type TWorkerRuntime,
} from '@crucible/jobs';
import { dropPrefix } from '@crucible/jobs/testing';
import { createLocalStorage, downloadPrefix, uploadDir } from '@crucible/storage';
import { loadWeights, readPeftAdapter } from '@crucible/trainer';
import { tinyAdapter, tinyBase } from '@crucible/trainer/testing';
// The oracle for the merged GGUF: the serving worker's own engine, serving base GGUF + LoRA GGUF (a dev dependency).
import { createEngine, type TEngine } from '@crucible/worker-serving/engine';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHousekeepingContext, configureHousekeeping } from '../src/context';
import { startHousekeepingRuntime } from './helpers';

/**
 * `model.export` through the real housekeeping queue, on real Postgres and Redis, with the local storage driver: a
 * LoRA model's merged safetensors are checked against a plain merge computed here (W + alpha/r · B·A, PEFT's
 * merge_and_unload), and its merged GGUF generates the same greedy tokens in llama.cpp as the serving engine's base
 * GGUF with the LoRA GGUF applied.
 */

let db: TTestDatabase;
let prisma: PrismaClient;
let runtime: TWorkerRuntime;
let engine: TEngine;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const savedUrl = process.env.DATABASE_URL;
const dir = mkdtempSync(join(tmpdir(), 'crucible-export-'));
const storage = createLocalStorage({
  root: join(dir, 'storage'),
  signingSecret: 'x'.repeat(32),
  publicUrl: 'http://127.0.0.1:1',
});
let ws: { id: string };
let base: { id: string; name: string };
let ft: { id: string; name: string };

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  process.env.DATABASE_URL = db.url;
  engine = createEngine({
    storage,
    cacheDir: join(dir, 'serving-cache'),
    maxAdapters: 2,
    contextSize: 128,
    gpu: false,
    ggufType: 'F32',
    threads: 2,
  });
  configureHousekeeping({ storage, cacheDir: join(dir, 'cache'), mailer: null });
  runtime = await startHousekeepingRuntime(prefix);

  const baseDir = join(dir, 'base');
  await tinyBase(baseDir);
  const adapterDir = join(dir, 'adapter');
  await tinyAdapter(baseDir, adapterDir, 3);
  const tag = randomUUID().slice(0, 8);
  ws = await prisma.workspace.create({ data: { name: `WS ${tag}`, slug: `ws-${tag}` } });
  const baseKey = `workspaces/${ws.id}/models/base`;
  await uploadDir(storage, baseDir, baseKey);
  base = await prisma.baseModel.create({
    data: { workspaceId: ws.id, name: `tiny-${tag}`, arch: 'qwen2', objectKey: baseKey },
  });
  const outKey = `workspaces/${ws.id}/jobs/j1/output`;
  await uploadDir(storage, adapterDir, outKey);
  ft = await prisma.fineTunedModel.create({
    data: {
      workspaceId: ws.id,
      name: `ft:${base.name}:ws:x:abc`,
      baseModelId: base.id,
      method: 'sft_lora',
      adapterObjectKey: outKey,
      ggufAdapterObjectKey: `${outKey}/adapter.gguf`,
    },
  });
}, 120_000);

afterAll(async () => {
  await runtime?.closeRuntime({ graceMs: 0 });
  closeHousekeepingContext();
  await engine?.dispose();
  await closeQueues();
  await closeRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
  rmSync(dir, { recursive: true, force: true });
});

async function exportOf(data: { subject: string; format: string; dtype: string; ft?: boolean }) {
  const row = await prisma.modelExport.create({
    data: {
      workspaceId: ws.id,
      subject: data.subject,
      fineTunedModelId: data.ft ? ft.id : null,
      baseModelId: data.ft ? null : base.id,
      format: data.format,
      dtype: data.dtype,
    },
  });
  const job = await enqueue(modelExportJob, { exportId: row.id }, { prefix });
  const queue = getQueue(QUEUE_NAMES.housekeeping, { prefix });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const state = await queue.getJobState(job.id);
    if (state === 'completed' || state === 'failed') {
      return {
        state,
        job: await queue.getJob(job.id),
        row: await prisma.modelExport.findUniqueOrThrow({ where: { id: row.id } }),
      };
    }
    if (Date.now() > deadline) throw new Error(`export job still ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** bf16 keeps 8 significant bits: a value rounds by at most half a unit in the last place, 2^-9 relative. */
const BF16_REL = 2 ** -8;
/** float32 accumulation over r + 1 terms: a few units of 2^-24 each, relative to the terms' magnitudes. */
const F32_SUM_REL = 1e-6;

describe('model.export', () => {
  it('merges a LoRA adapter into BF16 safetensors equal to a plain merge computed here', async () => {
    const { state, row } = await exportOf({ subject: `ft:${ft.id}`, format: 'safetensors', dtype: 'BF16', ft: true });
    expect(state).toBe('completed');
    expect(row.status).toBe('succeeded');
    expect(row.objectKey).toBe(`workspaces/${ws.id}/exports/${row.id}`);
    const listed = await storage.listObjects(`${row.objectKey}/`);
    const names = listed.map((o) => o.key.slice(row.objectKey!.length + 1)).sort();
    expect(names).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
    expect(Number(row.sizeBytes)).toBe(listed.reduce((s, o) => s + o.size, 0));

    const got = join(dir, 'got-merged');
    await downloadPrefix(storage, row.objectKey!, got);
    expect(JSON.parse(readFileSync(join(got, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const merged = await loadWeights(got);
    const original = await loadWeights(join(dir, 'base'));
    const { config, weights: lora } = readPeftAdapter(join(dir, 'adapter'));
    const scale = config.alpha / config.r;
    let checked = 0;
    for (const [name, w] of original) {
      const mod = `base_model.model.${name.replace(/\.weight$/, '')}`;
      const A = lora.get(`${mod}.lora_A.weight`);
      const B = lora.get(`${mod}.lora_B.weight`);
      const out = merged.get(name)!;
      expect(out.shape).toEqual(w.shape);
      const [rows, cols] = w.shape;
      for (let i = 0; i < w.data.length; i++) {
        let ref = w.data[i];
        let magnitude = Math.abs(ref);
        if (A && B) {
          const r = Math.floor(i / cols);
          const c = i % cols;
          let s = 0;
          for (let k = 0; k < config.r; k++) {
            const term = B.data[r * config.r + k] * A.data[k * cols + c];
            s += term;
            magnitude += Math.abs(scale * term);
          }
          ref += scale * s;
        }
        // bf16 rounding of the result, plus float32 rounding of the sum (which scales with its terms, not with a
        // result that cancels to near zero)
        const tol = Math.abs(ref) * BF16_REL + magnitude * F32_SUM_REL;
        if (Math.abs(out.data[i] - ref) > tol) {
          throw new Error(`${name}[${i}] (${rows}x${cols}): merged ${out.data[i]}, plain merge ${ref}`);
        }
      }
      if (A && B) checked += 1;
    }
    expect(checked).toBe(2 * 4); // 2 layers x q/v/up/down
  });

  it('writes a merged GGUF that greedy-decodes like base GGUF + LoRA GGUF in llama.cpp', async () => {
    const { state, row } = await exportOf({ subject: `ft:${ft.id}`, format: 'gguf', dtype: 'F32', ft: true });
    expect(state).toBe('completed');
    const [file] = await storage.listObjects(`${row.objectKey}/`);
    expect(file.key.endsWith('/model-F32.gguf')).toBe(true);
    await downloadPrefix(storage, row.objectKey!, join(dir, 'merged-gguf'));
    const bytes = readFileSync(join(dir, 'merged-gguf', 'model-F32.gguf'));
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('GGUF');

    const viaAdapter = await engine.generate(
      { baseModelId: base.id, fineTunedModelId: ft.id },
      { kind: 'completion', prompt: 'The quick brown fox', maxTokens: 12, temperature: 0 },
    );
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: join(dir, 'merged-gguf', 'model-F32.gguf') });
    const context = await model.createContext({ contextSize: 128 });
    const seq = context.getSequence();
    const out: number[] = [];
    for await (const t of seq.evaluate(model.tokenize('The quick brown fox', false), { temperature: 0 })) {
      if (model.isEogToken(t) || out.length >= 12) break;
      out.push(t);
    }
    const text = model.detokenize(out as never);
    await context.dispose();
    await model.dispose();
    expect(viaAdapter.completionTokens).toBeGreaterThan(3);
    expect(text).toBe(viaAdapter.text);
  });

  it('refuses what cannot be exported at once (no retries), saying why on the row', async () => {
    const { state, job, row } = await exportOf({ subject: `base:${base.id}`, format: 'safetensors', dtype: 'F32' });
    expect(state).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'not_exportable' });
    expect(row.errorMessage).toMatch(/stored already/);
  });

  it('exports a base model to a Q8_0 GGUF', async () => {
    const { state, row } = await exportOf({ subject: `base:${base.id}`, format: 'gguf', dtype: 'Q8_0' });
    expect(state).toBe('completed');
    expect(row.status).toBe('succeeded');
    const [file] = await storage.listObjects(`${row.objectKey}/`);
    expect(file.key.endsWith('/model-Q8_0.gguf')).toBe(true);
    expect(Number(row.sizeBytes)).toBe(file.size);
  });
});
