// @vitest-environment node
/**
 * Issue 14's "a Qwen3 and a Gemma fine-tune deploy and answer": for each architecture, a tiny random model written by
 * the core's init-model is imported as a base model (packages/services, as `crucible models import` does), a LoRA job
 * is created through the REST API and trained by a real trainer worker (in this process), the fine-tuned model is
 * deployed through the REST API on a real serving worker process (llama.cpp on CPU, the adapter as a GGUF LoRA on the
 * base's GGUF), and it answers through the OpenAI-compatible gateway with the official `openai` client — on real
 * Postgres, Redis and storage. The numbers themselves (GGUF greedy tokens equal to the core's) are
 * packages/trainer/test/gguf.test.ts's; this file checks that each architecture goes through every platform step.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletions } from '../../lib/server/gateway/handlers';
import { useTestStorage } from './datasets-helpers';
import { nodeHandler, spawnServingWorker, tearDownServing, testWorkerEnv, waitUntil } from './gateway-fixtures';
import { call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-archs-'));
const saved = { ...process.env };
const SLUG = 'archs';
const P = '/api/workspaces/[slug]';

let owner: TCaller;
let wsId = '';
let versionId = '';
let client: OpenAI;
let server: Server;
let serving: ReturnType<typeof spawnServingWorker> | null = null;
let trainer: { closeRuntime(o: { graceMs: number }): Promise<void> } | null = null;

/** The shared poll, its timeout ending with the serving worker's log. */
const until = <T>(what: string, fn: () => Promise<T | null | false | undefined>) =>
  waitUntil(what, fn, 120_000, () => serving?.output().slice(-3000) ?? '');

/** Ten one-turn chats the tiny models can learn a little of. */
function rows(): string {
  return Array.from({ length: 10 }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `What is ${i} plus ${i}?` },
        { role: 'assistant', content: `${i} plus ${i} is ${2 * i}.` },
      ],
    }),
  ).join('\n');
}

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, { REDIS_PREFIX: prefix, GATEWAY_RATE_LIMIT: '1000', GATEWAY_RATE_WINDOW_S: '60' });
  await startTestDatabase();
  owner = await signUp('archs-owner');
  wsId = (await makeWorkspace(owner, SLUG)).id;
  const key = await call('POST', `${P}/api-keys`, { caller: owner, params: { slug: SLUG }, body: { name: 'sdk' } });

  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const prisma = getPrisma();
  const ds = await prisma.dataset.create({ data: { workspaceId: wsId, name: 'sums' } });
  const objectKey = `workspaces/${wsId}/datasets/${ds.id}/v1.jsonl`;
  await getStorage().putObject(objectKey, Buffer.from(rows()));
  versionId = (
    await prisma.datasetVersion.create({
      data: {
        workspaceId: wsId,
        datasetId: ds.id,
        number: 1,
        status: 'published',
        format: 'chatml',
        objectKey,
        sha256: '0'.repeat(64),
        rowCount: 10,
        tokenCount: 200n,
      },
    })
  ).id;

  const { createWorkerRuntime } = await import('@crucible/jobs');
  const { trainerJobs } = await import('../../../../workers/trainer/src/jobs');
  const runtime = createWorkerRuntime({
    kind: 'trainer',
    queue: 'training',
    jobs: trainerJobs,
    prefix,
    handleSignals: false,
    log: () => {},
  });
  await runtime.ready;
  trainer = runtime;
  serving = spawnServingWorker({
    ...testWorkerEnv(prefix, path.join(scratch, 'cache')),
    SERVING_CONTEXT_SIZE: '256',
    SERVING_THREADS: '2',
  });

  server = createServer((req, res) => {
    nodeHandler({ '/v1/chat/completions': { POST: chatCompletions } })(req, res).catch((e) =>
      res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  client = new OpenAI({ apiKey: key.body.key, baseURL, maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await trainer?.closeRuntime({ graceMs: 0 });
  await tearDownServing({ prefix, scratch, env: saved, workers: [serving], server });
  serving = null;
}, 60_000);

describe('each architecture through the platform: import, fine-tune, deploy, answer', () => {
  it.each([
    // Qwen3: q/k norms, head_dim 32 apart from hidden / heads (16), the Qwen tokenizer and the qwen3 template.
    { arch: 'qwen3', modelType: 'qwen3', extra: { headDim: 32 } },
    // Gemma 3 text: (1 + w) norms, GeGLU, scaled embeddings, q/k norms, local sliding-window layers (a window of 16
    // that llama.cpp's every-6th-global pattern also uses), untied head; the gemma3 template.
    { arch: 'gemma3', modelType: 'gemma3_text', extra: { slidingWindow: 16, tie: false } },
  ] as const)(
    '$arch',
    async ({ arch, modelType, extra }) => {
      const { initModel } = await import('@crucible/trainer');
      const { importBaseModel } = await import('@crucible/services/models');
      const dir = path.join(scratch, arch);
      await initModel({ arch, layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 7, ...extra }, dir);
      const base = await importBaseModel(dir, { workspaceId: wsId, name: `tiny-${arch}` });
      expect(base).toMatchObject({ arch: modelType, status: 'ready' }); // config.json's model_type, as Transformers writes it

      const created = await call('POST', `${P}/fine-tuning/jobs`, {
        caller: owner,
        params: { slug: SLUG },
        body: {
          baseModelId: base.id,
          trainingVersionId: versionId,
          method: 'sft_lora',
          suffix: arch,
          hyperparameters: { epochs: 2, batchSize: 2, learningRate: 5e-3, cutoffLen: 64, loggingSteps: 1 },
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const jobParams = { slug: SLUG, jobId: created.body.id as string };
      const done = await until(`the ${arch} job`, async () => {
        const r = await call('GET', `${P}/fine-tuning/jobs/[jobId]`, { caller: owner, params: jobParams });
        return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : null;
      });
      expect(done.error, JSON.stringify(done.error)).toBeNull();
      expect(done.status).toBe('succeeded');
      // The template the run used is the architecture's own (LLaMA-Factory's name for it).
      const events = await call('GET', `${P}/fine-tuning/jobs/[jobId]/events`, { caller: owner, params: jobParams });
      expect(JSON.stringify(events.body.data)).toContain(arch === 'qwen3' ? 'qwen3' : 'gemma');
      const metrics = await call('GET', `${P}/fine-tuning/jobs/[jobId]/metrics`, { caller: owner, params: jobParams });
      const losses = metrics.body.data.map((m: { loss: number }) => m.loss) as number[];
      expect(losses.length).toBe(done.progress.totalSteps);
      expect(losses.every(Number.isFinite)).toBe(true);
      const model = done.fineTunedModel as { id: string; name: string };

      const dep = await call('POST', `${P}/deployments`, {
        caller: owner,
        params: { slug: SLUG },
        body: { name: `dep-${arch}`, modelId: model.id, modelKind: 'fine_tuned', contextSize: 256 },
      });
      expect(dep.status, JSON.stringify(dep.body)).toBe(201);
      const depParams = { slug: SLUG, deploymentId: dep.body.id as string };
      const running = await until(`the ${arch} deployment`, async () => {
        const r = await call('GET', `${P}/deployments/[deploymentId]`, { caller: owner, params: depParams });
        return ['running', 'failed'].includes(r.body.status) ? r.body : null;
      });
      expect(running.status, JSON.stringify(running)).toBe('running');

      const answer = await client.chat.completions.create({
        model: model.name,
        messages: [{ role: 'user', content: 'What is 3 plus 3?' }],
        max_tokens: 8,
        temperature: 0,
      });
      expect(answer.model).toBe(model.name);
      expect(answer.choices[0].message.content?.length).toBeGreaterThan(0);
      expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
      expect(answer.usage?.prompt_tokens).toBeGreaterThan(5);

      await call('POST', `${P}/deployments/[deploymentId]/stop`, { caller: owner, params: depParams });
    },
    300_000,
  );
});
