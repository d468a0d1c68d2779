// @vitest-environment node
/**
 * Request logs and feedback into data (issue 16), end to end: the console's /v1 handlers on a node:http server, the
 * official `openai` client, a real serving worker process (llama.cpp on CPU) serving a tiny Qwen2, real Postgres,
 * Redis and storage (S3 when S3_ENDPOINT is set). What is kept (a deployment's setting, `store: true`, a rated
 * playground turn), OpenAI's stored-completions API, the Logs page's routes, thumbs, "add to dataset" making a
 * draft version with the right rows, and another workspace seeing none of it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletions } from '../../lib/server/gateway/handlers';
import {
  deleteStoredCompletion,
  listStoredCompletionMessages,
  listStoredCompletions,
  retrieveStoredCompletion,
  updateStoredCompletion,
} from '../../lib/server/gateway/stored';
import { listRequestLogs } from '../../lib/server/routes/request-logs';
import { useTestStorage } from './datasets-helpers';
import {
  nodeHandler,
  servingRegistry,
  spawnServingWorker,
  tearDownServing,
  testWorkerEnv,
  tinyBase,
  waitUntil,
} from './gateway-fixtures';
import { APP_URL, call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-logs-'));
const saved = { ...process.env };

let server: Server;
let baseURL = '';
let client: OpenAI;
let other: OpenAI;
let owner: TCaller & { email: string; userId: string };
let keyA = '';
let wsA = '';
let worker: ReturnType<typeof spawnServingWorker> | null = null;
const MODEL = 'tiny-qwen';
const L = '/api/workspaces/[slug]/request-logs';
const slug = 'logs-a';

const until = <T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs?: number) =>
  waitUntil(what, fn, timeoutMs, () => worker?.output().slice(-3000) ?? '');
const registry = () => servingRegistry<{ deployments: string[] }>(prefix);

/** The Logs page's list, with its query string (as the page sends it), as A's API key. */
async function logs(query: Record<string, string> = {}) {
  const url = `${APP_URL}/api/workspaces/${slug}/request-logs?${new URLSearchParams(query)}`;
  const res = await listRequestLogs(new Request(url, { headers: { authorization: `Bearer ${keyA}` } }), { slug });
  expect(res.status).toBe(200);
  return (await res.json()) as { total: number; data: { id: string; [k: string]: unknown }[]; models: string[] };
}

async function kept(requestId: string) {
  const { getPrisma } = await import('@crucible/db');
  return getPrisma().requestLogContent.findUnique({ where: { requestId } });
}

const chat = (content: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions.create({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content },
    ],
    max_tokens: 6,
    temperature: 0,
    ...extra,
  });

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, { REDIS_PREFIX: prefix, GATEWAY_RATE_LIMIT: '1000', GATEWAY_RATE_WINDOW_S: '60' });
  await startTestDatabase();
  owner = await signUp('logs-owner');
  wsA = (await makeWorkspace(owner, slug)).id;
  await makeWorkspace(owner, 'logs-b');
  const mkKey = async (s: string) =>
    (await call('POST', '/api/workspaces/[slug]/api-keys', { caller: owner, params: { slug: s }, body: { name: 'k' } }))
      .body.key as string;
  keyA = await mkKey(slug);
  const keyB = await mkKey('logs-b');

  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const baseDir = path.join(scratch, 'tiny');
  await tinyBase(baseDir);
  const base = await getPrisma().baseModel.create({ data: { workspaceId: wsA, name: MODEL, arch: 'qwen2' } });
  const baseKey = `workspaces/${wsA}/models/${base.id}`;
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    await getStorage().putObject(`${baseKey}/${f}`, readFileSync(path.join(baseDir, f)));
  }
  await getPrisma().baseModel.update({ where: { id: base.id }, data: { objectKey: baseKey } });

  worker = spawnServingWorker({
    ...testWorkerEnv(prefix, path.join(scratch, 'cache')),
    SERVING_CONTEXT_SIZE: '256',
    SERVING_THREADS: '2',
  });
  await until('the serving worker in the registry', async () => (await registry())[0], 60_000);
  server = createServer((req, res) => {
    nodeHandler({
      '/v1/chat/completions': { POST: chatCompletions, GET: listStoredCompletions },
      '/v1/chat/completions/[completionId]': {
        GET: retrieveStoredCompletion,
        POST: updateStoredCompletion,
        DELETE: deleteStoredCompletion,
      },
      '/v1/chat/completions/[completionId]/messages': { GET: listStoredCompletionMessages },
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

const ids: Record<string, string> = {};

describe('what is kept', () => {
  it('keeps nothing by default: no deployment setting, no store', async () => {
    const r = await chat('Not kept.');
    expect(await kept(r.id)).toBeNull();
    expect((await logs()).total).toBe(0);
    // The request itself is metered as always.
    const { getPrisma } = await import('@crucible/db');
    expect(await getPrisma().requestLog.findUnique({ where: { id: r.id } })).toMatchObject({ statusCode: 200 });
  });

  it('store: true keeps the completion with its metadata, as OpenAI does', async () => {
    const r = await chat('Kept by store.', { store: true, metadata: { topic: 'billing', run: '1' } });
    const row = await kept(r.id);
    expect(row).toMatchObject({
      source: 'store',
      answer: r.choices[0].message.content,
      metadata: { topic: 'billing', run: '1' },
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Kept by store.' },
      ],
    });
    // OpenAI keeps stored completions 30 days when no deployment says otherwise.
    const days = ((row?.expiresAt.getTime() ?? 0) - (row?.createdAt.getTime() ?? 0)) / 86_400_000;
    expect(days).toBeCloseTo(30, 3);
    ids.stored1 = r.id;
  });

  it('refuses metadata OpenAI would refuse (17 pairs), naming the field', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const e = await chat('Too much metadata.', { store: true, metadata }).catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.param).toBe('metadata');
  });

  it('a deployment that keeps requests logs its chats, with its retention; switched off, it stops', async () => {
    const D = '/api/workspaces/[slug]/deployments';
    const { getPrisma } = await import('@crucible/db');
    const base = await getPrisma().baseModel.findFirstOrThrow({ where: { workspaceId: wsA, name: MODEL } });
    const created = await call('POST', D, {
      caller: owner,
      params: { slug },
      body: { name: 'support', modelId: base.id, modelKind: 'base', contextSize: 256 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ logRequests: false, logRetentionDays: 30 });
    const deploymentId = created.body.id;
    ids.deployment = deploymentId;
    await until('the deployment running', async () => {
      const r = await call('GET', `${D}/[deploymentId]`, { caller: owner, params: { slug, deploymentId } });
      if (r.body.status === 'failed') throw new Error(JSON.stringify(r.body.error));
      return r.body.status === 'running';
    });
    const bad = await call('PATCH', `${D}/[deploymentId]`, {
      caller: owner,
      params: { slug, deploymentId },
      body: { logRetentionDays: 0 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('logRetentionDays');
    const on = await call('PATCH', `${D}/[deploymentId]`, {
      caller: owner,
      params: { slug, deploymentId },
      body: { logRequests: true, logRetentionDays: 7 },
    });
    expect(on.body).toEqual({ id: deploymentId, logRequests: true, logRetentionDays: 7 });

    const a = await chat('What is the refund policy?');
    const b = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Where is my parcel?' }],
      max_tokens: 4,
      temperature: 0,
      stream: true,
    });
    let streamedId = '';
    let streamed = '';
    for await (const c of b) {
      streamedId = c.id;
      streamed += c.choices[0]?.delta?.content ?? '';
    }
    const rowA = await kept(a.id);
    expect(rowA).toMatchObject({ source: 'deployment', answer: a.choices[0].message.content });
    const days = ((rowA?.expiresAt.getTime() ?? 0) - (rowA?.createdAt.getTime() ?? 0)) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);
    // A streamed answer is kept whole, as the client received it.
    expect(await kept(streamedId)).toMatchObject({ source: 'deployment', answer: streamed });
    ids.refund = a.id;
    ids.parcel = streamedId;

    await call('PATCH', `${D}/[deploymentId]`, {
      caller: owner,
      params: { slug, deploymentId },
      body: { logRequests: false },
    });
    const off = await chat('After switching off.');
    expect(await kept(off.id)).toBeNull();
  });
});

describe("OpenAI's stored completions API with the openai client", () => {
  it('lists with model and metadata filters, pages with after/limit, orders asc (default) and desc', async () => {
    const more = await chat('Second stored.', { store: true, metadata: { topic: 'billing', run: '2' } });
    ids.stored2 = more.id;
    const all: string[] = [];
    // The client pages by itself (after = the last id): one per page here.
    for await (const c of client.chat.completions.list({ limit: 1 })) all.push(c.id);
    expect(all).toEqual([ids.stored1, ids.refund, ids.parcel, ids.stored2]);
    const desc = await client.chat.completions.list({ order: 'desc', limit: 2 });
    expect(desc.data.map((c) => c.id)).toEqual([ids.stored2, ids.parcel]);
    expect(desc.has_more).toBe(true);
    const billing = await client.chat.completions.list({ metadata: { topic: 'billing' } });
    expect(billing.data.map((c) => c.id)).toEqual([ids.stored1, ids.stored2]);
    const run2 = await client.chat.completions.list({ metadata: { topic: 'billing', run: '2' } });
    expect(run2.data.map((c) => c.id)).toEqual([ids.stored2]);
    expect((await client.chat.completions.list({ model: 'no-such-model' })).data).toEqual([]);
    expect((await client.chat.completions.list({ model: MODEL })).data).toHaveLength(4);
  });

  it('retrieves one as the chat completion it was, and lists its messages', async () => {
    const c = await client.chat.completions.retrieve(ids.stored1);
    const row = await kept(ids.stored1);
    expect(c).toMatchObject({
      id: ids.stored1,
      object: 'chat.completion',
      model: MODEL,
      metadata: { topic: 'billing', run: '1' },
      choices: [{ index: 0, message: { role: 'assistant', content: row?.answer } }],
    });
    expect(c.usage?.total_tokens).toBe((c.usage?.prompt_tokens ?? 0) + (c.usage?.completion_tokens ?? 0));
    const messages = [];
    for await (const m of client.chat.completions.messages.list(ids.stored1, { limit: 1 })) messages.push(m);
    expect(messages).toEqual([
      { id: `${ids.stored1}-0`, role: 'system', content: 'You are terse.', name: null, content_parts: null },
      { id: `${ids.stored1}-1`, role: 'user', content: 'Kept by store.', name: null, content_parts: null },
    ]);
    const desc = await client.chat.completions.messages.list(ids.stored1, { order: 'desc' });
    expect(desc.data.map((m) => m.role)).toEqual(['user', 'system']);
  });

  it('updates metadata and deletes; the metering row stays', async () => {
    const u = await client.chat.completions.update(ids.stored2, { metadata: { topic: 'shipping' } });
    // The SDK's ChatCompletion type has no `metadata`; OpenAI's stored completion carries it.
    expect((u as unknown as { metadata: unknown }).metadata).toEqual({ topic: 'shipping' });
    expect((await client.chat.completions.list({ metadata: { topic: 'shipping' } })).data.map((c) => c.id)).toEqual([
      ids.stored2,
    ]);
    const d = await client.chat.completions.delete(ids.stored2);
    expect(d).toEqual({ object: 'chat.completion.deleted', id: ids.stored2, deleted: true });
    expect(await client.chat.completions.retrieve(ids.stored2).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    const { getPrisma } = await import('@crucible/db');
    expect(await getPrisma().requestLog.count({ where: { id: ids.stored2 } })).toBe(1);
  });

  it('another workspace gets 404 on every call and lists nothing; A is unchanged', async () => {
    const before = await kept(ids.stored1);
    expect((await other.chat.completions.list()).data).toEqual([]);
    for (const attempt of [
      () => other.chat.completions.retrieve(ids.stored1),
      () => other.chat.completions.update(ids.stored1, { metadata: { stolen: 'yes' } }),
      () => other.chat.completions.delete(ids.stored1),
      () => other.chat.completions.messages.list(ids.stored1),
    ]) {
      expect(await attempt().catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    }
    expect(await kept(ids.stored1)).toEqual(before);
  });
});

describe('the Logs page', () => {
  it('searches and filters: text, model, deployment, finish reason, latency, time, source', async () => {
    const everything = await logs();
    expect(everything.total).toBe(3);
    expect(everything.models).toEqual([MODEL]);
    expect((await logs({ q: 'REFUND' })).data.map((l) => l.id)).toEqual([ids.refund]);
    expect((await logs({ deploymentId: ids.deployment })).data.map((l) => l.id).sort()).toEqual(
      [ids.refund, ids.parcel].sort(),
    );
    expect((await logs({ source: 'store' })).data.map((l) => l.id)).toEqual([ids.stored1]);
    expect((await logs({ model: 'other' })).total).toBe(0);
    const refund = everything.data.find((l) => l.id === ids.refund)!;
    expect(refund).toMatchObject({
      model: MODEL,
      deployment: { id: ids.deployment, name: 'support' },
      prompt: 'What is the refund policy?',
    });
    const reason = refund.finishReason as string;
    expect(['stop', 'length']).toContain(reason);
    expect((await logs({ finishReason: reason })).data.map((l) => l.id)).toContain(ids.refund);
    expect((await logs({ finishReason: reason === 'stop' ? 'length' : 'stop' })).data.map((l) => l.id)).not.toContain(
      ids.refund,
    );
    const latency = refund.latencyMs as number;
    expect(
      (await logs({ minLatencyMs: String(latency), maxLatencyMs: String(latency) })).data.map((l) => l.id),
    ).toContain(ids.refund);
    expect((await logs({ minLatencyMs: String(latency + 60_000) })).total).toBe(0);
    expect((await logs({ from: new Date(Date.now() + 60_000).toISOString() })).total).toBe(0);
    expect((await logs({ to: new Date(Date.now() + 60_000).toISOString() })).total).toBe(3);
    const page = await logs({ limit: '2', offset: '2' });
    expect([page.total, page.data.length]).toEqual([3, 1]);
    const bad = await listRequestLogs(
      new Request(`${APP_URL}/api/workspaces/${slug}/request-logs?finishReason=maybe`, {
        headers: { authorization: `Bearer ${keyA}` },
      }),
      { slug },
    );
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe('finishReason');
  });

  it('shows one log whole, and thumbs it up, down and back to none', async () => {
    const one = await call('GET', `${L}/[logId]`, { caller: owner, params: { slug, logId: ids.refund } });
    expect(one.body).toMatchObject({
      id: ids.refund,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'What is the refund policy?' },
      ],
      rating: null,
      endpoint: '/v1/chat/completions',
    });
    const rate = (rating: 'up' | 'down' | null) =>
      call('PUT', `${L}/[logId]/rating`, { caller: owner, params: { slug, logId: ids.refund }, body: { rating } });
    expect((await rate('up')).body.rating).toBe('up');
    expect((await logs({ rating: 'up' })).data.map((l) => l.id)).toEqual([ids.refund]);
    expect((await rate('down')).body.rating).toBe('down');
    expect((await logs({ rating: 'up' })).total).toBe(0);
    expect((await rate(null)).body.rating).toBeNull();
    expect((await logs({ rating: 'none' })).total).toBe(3);
    await rate('up');
  });

  it('keeps a rated playground turn (the member’s own, not kept otherwise); refuses other requests', async () => {
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: {
        cookie: owner.cookie ?? '',
        'x-crucible-workspace': slug,
        origin: APP_URL,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Playground question' }],
        max_tokens: 4,
        temperature: 0,
      }),
    });
    const turn = (await res.json()) as OpenAI.ChatCompletion;
    expect(await kept(turn.id)).toBeNull();
    const messages = [{ role: 'user', content: 'Playground question' }];
    const answer = turn.choices[0].message.content ?? '';
    // Without the turn there is nothing to rate.
    const bare = await call('PUT', `${L}/[logId]/rating`, {
      caller: owner,
      params: { slug, logId: turn.id },
      body: { rating: 'down' },
    });
    expect(bare.status).toBe(409);
    const rated = await call('PUT', `${L}/[logId]/rating`, {
      caller: owner,
      params: { slug, logId: turn.id },
      body: { rating: 'down', turn: { messages, answer } },
    });
    expect(rated.status).toBe(200);
    expect(rated.body).toMatchObject({ source: 'playground', rating: 'down', messages, answer });
    ids.playground = turn.id;
    // An API key's request that was not kept cannot be made a "playground turn".
    const api = await chat('From the API.');
    const refused = await call('PUT', `${L}/[logId]/rating`, {
      caller: owner,
      params: { slug, logId: api.id },
      body: { rating: 'up', turn: { messages, answer: 'forged' } },
    });
    expect(refused.status).toBe(409);
    expect(await kept(api.id)).toBeNull();
  });
});

describe('feedback into data', () => {
  const rowsOf = async (datasetId: string, versionId: string) =>
    (
      await call('GET', '/api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]/rows', {
        caller: owner,
        params: { slug, datasetId, versionId },
      })
    ).body.data.map((r: { row: unknown }) => r.row);

  it('adds two logs (one answer edited) as the first draft version of a new ChatML dataset', async () => {
    const res = await call('POST', `${L}/add-to-dataset`, {
      caller: owner,
      params: { slug },
      body: {
        logIds: [ids.refund, ids.playground],
        answers: { [ids.playground]: 'I am Crux, built by Crucible.' },
        datasetName: 'from-logs',
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      dataset: { name: 'from-logs' },
      version: { number: 1, status: 'draft', format: 'chatml', rowCount: 2, errorCount: 0 },
      added: 2,
    });
    const refund = await kept(ids.refund);
    expect(await rowsOf(res.body.dataset.id, res.body.version.id)).toEqual([
      {
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'What is the refund policy?' },
          { role: 'assistant', content: refund?.answer },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'Playground question' },
          { role: 'assistant', content: 'I am Crux, built by Crucible.' },
        ],
      },
    ]);
    ids.dataset = res.body.dataset.id;
    ids.v1 = res.body.version.id;
  });

  it('appends to an existing dataset as a new draft version: every row of the latest, then the new ones', async () => {
    const res = await call('POST', `${L}/add-to-dataset`, {
      caller: owner,
      params: { slug },
      body: { logIds: [ids.stored1], answers: { [ids.stored1]: 'Edited answer.' }, datasetId: ids.dataset },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toMatchObject({ number: 2, status: 'draft', rowCount: 3, parentVersionId: ids.v1 });
    const rows = await rowsOf(ids.dataset, res.body.version.id);
    expect(rows.slice(0, 2)).toEqual(await rowsOf(ids.dataset, ids.v1));
    expect(rows[2]).toEqual({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Kept by store.' },
        { role: 'assistant', content: 'Edited answer.' },
      ],
    });
    // Publishable and trainable like any draft.
    const pub = await call('POST', '/api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]/publish', {
      caller: owner,
      params: { slug, datasetId: ids.dataset, versionId: res.body.version.id },
    });
    expect(pub.status, JSON.stringify(pub.body)).toBe(200);
  });

  it('refuses unknown logs, empty answers and a missing target, naming the field; makes nothing', async () => {
    const { getPrisma } = await import('@crucible/db');
    const before = await getPrisma().datasetVersion.count();
    const post = (body: unknown) => call('POST', `${L}/add-to-dataset`, { caller: owner, params: { slug }, body });
    const unknown = await post({ logIds: ['chatcmpl-nope'], datasetName: 'x' });
    expect([unknown.status, unknown.body.error.param]).toEqual([404, 'logIds']);
    const empty = await post({ logIds: [ids.refund], answers: { [ids.refund]: '  ' }, datasetName: 'x' });
    expect([empty.status, empty.body.error.param]).toEqual([400, `answers.${ids.refund}`]);
    const neither = await post({ logIds: [ids.refund] });
    expect([neither.status, neither.body.error.param]).toEqual([400, 'datasetId']);
    expect(await getPrisma().datasetVersion.count()).toBe(before);
    expect(await getPrisma().dataset.count({ where: { name: 'x' } })).toBe(0);
  });

  it("another workspace's member cannot read, rate or add A's logs (404)", async () => {
    const b = await signUp('logs-outsider');
    await makeWorkspace(b, 'logs-c');
    const before = await kept(ids.refund);
    for (const [method, p, body] of [
      ['GET', `${L}/[logId]`, undefined],
      ['PUT', `${L}/[logId]/rating`, { rating: 'down' }],
      ['DELETE', `${L}/[logId]`, undefined],
    ] as const) {
      expect((await call(method, p, { caller: b, params: { slug, logId: ids.refund }, body })).status).toBe(404);
      // Through its own workspace, A's id is not found either.
      expect((await call(method, p, { caller: b, params: { slug: 'logs-c', logId: ids.refund }, body })).status).toBe(
        404,
      );
    }
    const add = await call('POST', `${L}/add-to-dataset`, {
      caller: b,
      params: { slug: 'logs-c' },
      body: { logIds: [ids.refund], datasetName: 'stolen' },
    });
    expect(add.status).toBe(404);
    expect(await kept(ids.refund)).toEqual(before);
  });

  it('deletes a log from the Logs page', async () => {
    const del = await call('DELETE', `${L}/[logId]`, { caller: owner, params: { slug, logId: ids.parcel } });
    expect(del.body).toEqual({ id: ids.parcel, deleted: true });
    expect(await kept(ids.parcel)).toBeNull();
    expect((await call('GET', `${L}/[logId]`, { caller: owner, params: { slug, logId: ids.parcel } })).status).toBe(
      404,
    );
  });
});
