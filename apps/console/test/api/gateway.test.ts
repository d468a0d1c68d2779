// @vitest-environment node
/**
 * The OpenAI-compatible gateway end to end: the console's /v1 handlers on a node:http server, the official `openai`
 * client, and a real serving worker process (workers/serving: node-llama-cpp on CPU) serving a tiny Qwen2 base with
 * hand-made LoRA adapters, on real Postgres, Redis and local storage. One worker is shared by the whole file (it
 * starts slowly); it is restarted once to show that deployments come back.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chatCompletions,
  completions,
  deleteModelV1,
  listModelsV1,
  retrieveModelV1,
} from '../../lib/server/gateway/handlers';
import { listFiles } from '../../lib/server/routes/files';
import { useTestStorage } from './datasets-helpers';
import {
  nodeHandler,
  servingRegistry,
  spawnServingWorker,
  stopServingWorker,
  tearDownServing,
  testWorkerEnv,
  tinyAdapter,
  tinyBase,
  waitUntil,
} from './gateway-fixtures';
import { APP_URL, call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-gw-'));
const saved = { ...process.env };

let server: Server;
let baseURL = '';
let client: OpenAI;
let other: OpenAI;
let owner: TCaller & { email: string; userId: string };
let keyA = '';
let wsA = '';
let worker: ReturnType<typeof spawnServingWorker> | null = null;
const ft: { id: string; name: string }[] = [];
let full: { id: string; name: string };
let baseName = '';

type TRegistry = { workerId: string; url: string; bases: string[]; adapters: string[]; deployments: string[] };

const until = <T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs?: number) =>
  waitUntil(what, fn, timeoutMs, () => worker?.output().slice(-3000) ?? '');
const registry = () => servingRegistry<TRegistry>(prefix);

async function startWorker() {
  worker = spawnServingWorker({
    ...testWorkerEnv(prefix, path.join(scratch, 'cache')),
    SERVING_MAX_ADAPTERS: '2',
    SERVING_CONTEXT_SIZE: '256',
    SERVING_THREADS: '2',
  });
  return until('the serving worker in the registry', async () => (await registry())[0], 60_000);
}

async function stopWorker() {
  await stopServingWorker(worker);
  worker = null;
}

async function workerHealth(): Promise<{ holdings: { bases: string[]; adapters: string[] } }> {
  const [w] = await registry();
  return (await fetch(`${w.url}/health`)).json() as never;
}

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, {
    REDIS_PREFIX: prefix,
    GATEWAY_RATE_LIMIT: '1000',
    GATEWAY_RATE_WINDOW_S: '60',
  });
  await startTestDatabase();
  owner = await signUp('gw-owner');
  const a = await makeWorkspace(owner, 'gw-a');
  wsA = a.id;
  await makeWorkspace(owner, 'gw-b');
  const mkKey = async (slug: string) =>
    (await call('POST', '/api/workspaces/[slug]/api-keys', { caller: owner, params: { slug }, body: { name: 'sdk' } }))
      .body.key as string;
  keyA = await mkKey('gw-a');
  const keyB = await mkKey('gw-b');

  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const prisma = getPrisma();
  const storage = getStorage();
  const baseDir = path.join(scratch, 'tiny');
  await tinyBase(baseDir);
  baseName = 'tiny-qwen';
  const base = await prisma.baseModel.create({ data: { workspaceId: a.id, name: baseName, arch: 'qwen2' } });
  const baseKey = `workspaces/${a.id}/models/${base.id}`;
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    try {
      await storage.putObject(`${baseKey}/${f}`, readFileSync(path.join(baseDir, f)));
    } catch {
      // not every tiny model has every file
    }
  }
  await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: baseKey } });
  for (let i = 0; i < 3; i++) {
    const dir = path.join(scratch, `adapter-${i}`);
    mkdirSync(dir, { recursive: true });
    const gguf = await tinyAdapter(baseDir, dir, 100 + i);
    const key = `workspaces/${a.id}/jobs/job${i}/output/adapter.gguf`;
    await storage.putObject(key, readFileSync(gguf));
    const id = `ftmodel${i}`;
    const name = `ft:${baseName}:gw-a:v${i}:${id.slice(-8)}`;
    await prisma.fineTunedModel.create({
      data: { id, workspaceId: a.id, name, baseModelId: base.id, method: 'sft_lora', ggufAdapterObjectKey: key },
    });
    ft.push({ id, name });
  }

  // A full fine-tune: complete weights (here the base's own files), served as a model of its own, not as an adapter.
  const fullKey = `workspaces/${a.id}/jobs/jobfull/output`;
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    await storage.putObject(`${fullKey}/${f}`, readFileSync(path.join(baseDir, f)));
  }
  await storage.putObject(`${fullKey}/trainer_log.jsonl`, Buffer.from('{"loss": 1}\n'));
  full = { id: 'ftmodelfull', name: `ft:${baseName}:gw-a:full:odelfull` };
  await prisma.fineTunedModel.create({
    data: { ...full, workspaceId: a.id, baseModelId: base.id, method: 'sft_full', mergedObjectKey: fullKey },
  });

  // Prices for the first fine-tuned model only (issue 17): the gateway's charges go through @crucible/billing.
  const { createPriceList } = await import('@crucible/db/billing');
  await createPriceList({
    workspaceId: a.id,
    name: 'ft prices',
    currency: 'USD',
    effectiveFrom: new Date(0),
    items: [
      { category: 'inference', meter: 'input_tokens', unit: '1K tokens', unitPrice: '0.002', modelRef: ft[0].name },
      { category: 'inference', meter: 'output_tokens', unit: '1M tokens', unitPrice: '9', modelRef: ft[0].name },
    ],
  });

  await startWorker();
  server = createServer((req, res) => {
    nodeHandler({
      '/v1/chat/completions': { POST: chatCompletions },
      '/v1/completions': { POST: completions },
      '/v1/models': { GET: listModelsV1 },
      '/v1/models/[model]': { GET: retrieveModelV1, DELETE: deleteModelV1 },
      '/v1/files': { GET: listFiles },
    })(req, res).catch((e) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  client = new OpenAI({ apiKey: keyA, baseURL, maxRetries: 0 });
  other = new OpenAI({ apiKey: keyB, baseURL, maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await tearDownServing({ prefix, scratch, env: saved, workers: [worker], server });
  worker = null;
}, 60_000);

const ASK = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say something.' },
];

async function ledger(requestId: string) {
  const { getPrisma } = await import('@crucible/db');
  const prisma = getPrisma();
  const [logs, usage] = await Promise.all([
    prisma.requestLog.findMany({ where: { id: requestId } }),
    prisma.usageRecord.findMany({
      where: { idempotencyKey: { startsWith: `inference:${requestId}:` } },
      orderBy: { meter: 'asc' },
    }),
  ]);
  return { logs, usage };
}

describe('/v1 gateway with the openai client', () => {
  let nonStreamText = '';

  it('answers a fine-tuned model (non-stream), with usage recorded exactly once', async () => {
    const r = await client.chat.completions.create({
      model: ft[0].name,
      messages: ASK,
      max_tokens: 12,
      temperature: 0,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe(ft[0].name);
    expect(r.choices[0].message.role).toBe('assistant');
    nonStreamText = r.choices[0].message.content ?? '';
    expect(nonStreamText.length).toBeGreaterThan(0);
    expect(r.usage?.prompt_tokens).toBeGreaterThan(5);
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
    expect(r.usage?.completion_tokens).toBeLessThanOrEqual(12);
    expect(r.usage?.total_tokens).toBe((r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0));

    const { logs, usage } = await ledger(r.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      workspaceId: wsA,
      model: ft[0].name,
      endpoint: '/v1/chat/completions',
      statusCode: 200,
      stream: false,
      promptTokens: r.usage?.prompt_tokens,
      completionTokens: r.usage?.completion_tokens,
    });
    expect(usage.map((u) => [u.meter, u.idempotencyKey, u.unit])).toEqual([
      ['input_tokens', `inference:${r.id}:input`, '1K tokens'],
      ['output_tokens', `inference:${r.id}:output`, '1M tokens'],
    ]);
    // The model's own prices: 0.002 per 1K prompt tokens, 9 per 1M completion tokens.
    const prompt = r.usage?.prompt_tokens ?? 0;
    const completion = r.usage?.completion_tokens ?? 0;
    expect(Number(usage[0].quantity)).toBeCloseTo(prompt / 1000, 8);
    expect(Number(usage[0].amount)).toBeCloseTo((prompt / 1000) * 0.002, 10);
    expect(Number(usage[1].amount)).toBeCloseTo((completion / 1e6) * 9, 10);
  });

  it('the adapter changes the answer; greedy answers repeat exactly', async () => {
    const ask = (model: string) =>
      client.chat.completions.create({ model, messages: ASK, max_tokens: 12, temperature: 0 });
    const [base, again, other1] = [await ask(baseName), await ask(ft[0].name), await ask(ft[1].name)];
    expect(again.choices[0].message.content).toBe(nonStreamText);
    expect(base.choices[0].message.content).not.toBe(nonStreamText);
    expect(other1.choices[0].message.content).not.toBe(nonStreamText);
  });

  it('streams SSE chunks in OpenAI shape with a final usage chunk, same text as non-stream', async () => {
    const stream = await client.chat.completions.create({
      model: ft[0].name,
      messages: ASK,
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let id = '';
    let finish: string | null = null;
    let chunks = 0;
    for await (const c of stream) {
      chunks += 1;
      id = c.id;
      expect(c.object).toBe('chat.completion.chunk');
      if (c.choices[0]?.delta?.content) text += c.choices[0].delta.content;
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(nonStreamText);
    expect(finish).toMatch(/^(stop|length)$/);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const { logs, usage: lines } = await ledger(id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ stream: true, statusCode: 200, completionTokens: usage?.completion_tokens });
    expect(logs[0].timeToFirstTokenMs).not.toBeNull();
    expect(lines).toHaveLength(2);
  });

  it('completions, stop sequences and json_schema through llama.cpp grammars', async () => {
    const c = await client.completions.create({
      model: baseName,
      prompt: 'Once upon a time',
      max_tokens: 8,
      temperature: 0,
    });
    expect(c.object).toBe('text_completion');
    expect(c.usage?.completion_tokens).toBeGreaterThan(0);
    const full = c.choices[0].text;
    // A stop sequence taken from the answer itself: a visible character past the first (a whitespace-only cut is no
    // test of stop sequences; the assertion below always runs).
    const at = [...full].findIndex((ch, i) => i >= 1 && ch.trim() !== '');
    expect(at, `a visible character in ${JSON.stringify(full)}`).toBeGreaterThan(0);
    const cut = [...full][at];
    {
      const s = await client.completions.create({
        model: baseName,
        prompt: 'Once upon a time',
        max_tokens: 8,
        temperature: 0,
        stop: [cut],
      });
      expect(s.choices[0].text).toBe(full.slice(0, full.indexOf(cut)));
      expect(s.choices[0].finish_reason).toBe('stop');
    }
    const j = await client.chat.completions.create({
      model: ft[0].name,
      messages: [{ role: 'user', content: 'Answer in JSON.' }],
      max_tokens: 40,
      temperature: 0,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          schema: { type: 'object', properties: { answer: { enum: ['yes', 'no'] } }, required: ['answer'] },
        },
      },
    });
    expect(['yes', 'no']).toContain(JSON.parse(j.choices[0].message.content ?? '').answer);
  });

  it('loads adapters on demand and evicts the least recently used beyond the limit (2)', async () => {
    for (const m of [ft[0], ft[1], ft[2]]) {
      await client.chat.completions.create({ model: m.name, messages: ASK, max_tokens: 2, temperature: 0 });
    }
    const held = (await workerHealth()).holdings.adapters;
    expect(held.sort()).toEqual([ft[1].id, ft[2].id].sort());
    // The evicted one still answers: loaded again on first use.
    const again = await client.chat.completions.create({
      model: ft[0].name,
      messages: ASK,
      max_tokens: 12,
      temperature: 0,
    });
    expect(again.choices[0].message.content).toBe(nonStreamText);
    expect((await workerHealth()).holdings.adapters).toContain(ft[0].id);
  });

  it('lists models; another workspace cannot see or call them (404 model_not_found)', async () => {
    const mine = (await client.models.list()).data.map((m) => m.id);
    expect(mine).toEqual(expect.arrayContaining([baseName, ...ft.map((m) => m.name)]));
    const theirs = (await other.models.list()).data.map((m) => m.id);
    expect(theirs).not.toContain(ft[0].name);
    expect(theirs).not.toContain(baseName);
    const err = await other.chat.completions
      .create({ model: ft[0].name, messages: ASK, max_tokens: 2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const bad = await client.chat.completions.create({ model: 'nope', messages: ASK }).catch((e: unknown) => e);
    expect((bad as { status: number }).status).toBe(404);
    const noKey = await fetch(`${baseURL}/chat/completions`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
    expect((await noKey.json()).error.type).toBe('authentication_error');
  });

  it('serves a full fine-tune from its own weights (the same weights as the base here: the same greedy answer)', async () => {
    const ask = { messages: ASK, max_tokens: 10, temperature: 0 };
    const fromFull = await client.chat.completions.create({ model: full.name, ...ask });
    const fromBase = await client.chat.completions.create({ model: baseName, ...ask });
    expect(fromFull.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(fromFull.choices[0].message.content).toBe(fromBase.choices[0].message.content);
    expect((await workerHealth()).holdings.bases).toContain(`ft:${full.id}`);
  });

  it('retrieves and deletes models as OpenAI does (fine-tuned only; a deleted one is gone)', async () => {
    const got = await client.models.retrieve(ft[2].name);
    expect(got).toMatchObject({ id: ft[2].name, object: 'model', owned_by: 'workspace' });
    await expect(other.models.retrieve(ft[2].name)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.models.delete(baseName)).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(other.models.delete(full.name)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const deleted = await client.models.delete(full.name);
    expect(deleted).toEqual({ id: full.name, object: 'model', deleted: true });
    await expect(client.models.retrieve(full.name)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client.chat.completions.create({ model: full.name, messages: ASK, max_tokens: 2 }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const { getStorage } = await import('@crucible/storage');
    expect(await getStorage().listObjects(`workspaces/${wsA}/jobs/jobfull/output/`)).toEqual([]);
  });

  it('accepts the session cookie + X-Crucible-Workspace (the playground)', async () => {
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: {
        cookie: owner.cookie ?? '',
        'x-crucible-workspace': 'gw-a',
        origin: APP_URL,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: ft[0].name, messages: ASK, max_tokens: 3, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    const { logs } = await ledger(body.id);
    expect(logs[0]).toMatchObject({ userId: owner.userId, apiKeyId: null });
  });

  it('rate-limits per key with 429 and Retry-After', async () => {
    process.env.GATEWAY_RATE_LIMIT = '3';
    try {
      const key = (
        await call('POST', '/api/workspaces/[slug]/api-keys', {
          caller: owner,
          params: { slug: 'gw-a' },
          body: { name: 'rl' },
        })
      ).body.key as string;
      const hit = () =>
        fetch(`${baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'no-such-model', messages: ASK }),
        });
      for (let i = 0; i < 3; i++) expect((await hit()).status).toBe(404);
      const limited = await hit();
      expect(limited.status).toBe(429);
      const retry = Number(limited.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(61);
      expect((await limited.json()).error.code).toBe('rate_limit_exceeded');
      // Another key is not affected (a fresh one: every route a key calls counts, so the suite's own key has used
      // its window already).
      const other = (
        await call('POST', '/api/workspaces/[slug]/api-keys', {
          caller: owner,
          params: { slug: 'gw-a' },
          body: { name: 'rl-other' },
        })
      ).body.key as string;
      expect((await new OpenAI({ apiKey: other, baseURL, maxRetries: 0 }).models.list()).data.length).toBeGreaterThan(
        0,
      );
      // Every route a key reaches is limited, not only chat: the models list and the Files API answer 429 too.
      expect((await fetch(`${baseURL}/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(429);
      expect((await fetch(`${baseURL}/files`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(429);
      const sdk = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
      await expect(sdk.chat.completions.create({ model: baseName, messages: ASK })).rejects.toBeInstanceOf(
        OpenAI.RateLimitError,
      );
    } finally {
      process.env.GATEWAY_RATE_LIMIT = '1000';
    }
  });
});

describe('deployments', () => {
  const P = '/api/workspaces/[slug]/deployments';
  let depId = '';

  it('deploys a fine-tuned model: deploying → running on the worker, requests counted in its stats and metrics', async () => {
    const created = await call('POST', P, {
      caller: owner,
      params: { slug: 'gw-a' },
      body: { name: 'support-bot', modelId: ft[1].id, modelKind: 'fine_tuned', contextSize: 256 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      name: 'support-bot',
      status: 'deploying',
      model: { id: ft[1].id, kind: 'fine_tuned', openaiId: ft[1].name },
      replicas: 1,
      contextSize: 256,
    });
    depId = created.body.id;
    const running = await until('the deployment running', async () => {
      const r = await call('GET', `${P}/[deploymentId]`, {
        caller: owner,
        params: { slug: 'gw-a', deploymentId: depId },
      });
      if (r.body.status === 'failed') throw new Error(JSON.stringify(r.body.error));
      return r.body.status === 'running' ? r.body : null;
    });
    expect(running.startedAt).not.toBeNull();
    await until('the registry listing the deployment', async () => (await registry())[0]?.deployments.includes(depId));

    const models = await call('GET', '/api/workspaces/[slug]/chat-models', { caller: owner, params: { slug: 'gw-a' } });
    expect(models.body.data).toEqual(
      expect.arrayContaining([
        // `base`: the playground's Compare pairs a fine-tune with it
        { id: ft[1].name, modelId: ft[1].id, name: ft[1].name, kind: 'fine_tuned', deployed: true, base: baseName },
      ]),
    );

    const r = await client.chat.completions.create({ model: ft[1].name, messages: ASK, max_tokens: 4, temperature: 0 });
    const list = await call('GET', P, { caller: owner, params: { slug: 'gw-a' } });
    const row = list.body.data.find((d: { id: string }) => d.id === depId);
    expect(row.stats).toMatchObject({
      requests: 1,
      promptTokens: r.usage?.prompt_tokens,
      completionTokens: r.usage?.completion_tokens,
    });
    expect(row.stats.p50Ms).toBeGreaterThan(0);
    const metrics = await call('GET', `${P}/[deploymentId]/metrics`, {
      caller: owner,
      params: { slug: 'gw-a', deploymentId: depId },
    });
    expect(metrics.status).toBe(200);
    expect(metrics.body.data).toHaveLength(1);
    expect(metrics.body.data[0]).toMatchObject({ requests: 1, completionTokens: r.usage?.completion_tokens });
    expect(metrics.body.data[0].bucket).toMatch(/:00\.000Z$/);
  });

  it('a worker restart reloads the running deployment from the database', async () => {
    await stopWorker();
    const w = await startWorker();
    await until('the reloaded deployment', async () => (await registry())[0]?.deployments.includes(depId));
    expect(w.workerId).toBeTruthy();
    const row = await call('GET', `${P}/[deploymentId]`, {
      caller: owner,
      params: { slug: 'gw-a', deploymentId: depId },
    });
    expect(row.body.status).toBe('running');
    const r = await client.chat.completions.create({ model: ft[1].name, messages: ASK, max_tokens: 2, temperature: 0 });
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
  }, 120_000);

  it('stop, then delete (refused while running)', async () => {
    const params = { slug: 'gw-a', deploymentId: depId };
    expect((await call('DELETE', `${P}/[deploymentId]`, { caller: owner, params })).status).toBe(409);
    expect((await call('POST', `${P}/[deploymentId]/stop`, { caller: owner, params })).status).toBe(202);
    await until(
      'stopped',
      async () => (await call('GET', `${P}/[deploymentId]`, { caller: owner, params })).body.status === 'stopped',
    );
    await until('the registry dropping it', async () => !(await registry())[0]?.deployments.includes(depId), 20_000);
    expect((await call('DELETE', `${P}/[deploymentId]`, { caller: owner, params })).status).toBe(204);
    expect((await call('GET', `${P}/[deploymentId]`, { caller: owner, params })).status).toBe(404);
  });
});
