// @vitest-environment node
/**
 * The gateway when things go wrong (issue 11, findings 5, 6 and 8), against a real serving worker process: a client
 * that leaves while its request waits in line or mid-answer, a worker killed mid-stream, a full queue, a prompt far
 * over the context, an oversized body. Every request is logged from the moment it is accepted and charged for what
 * was generated.
 *
 * A slow request holds the model's only sequence: a grammar-constrained generation (llama.cpp checks the grammar
 * over the whole 151k vocabulary for every token, so a few tokens take seconds on the tiny model).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletions, completions } from '../../lib/server/gateway/handlers';
import { useTestStorage } from './datasets-helpers';
import { nodeHandler, spawnServingWorker, tearDownServing, testWorkerEnv, tinyBase } from './gateway-fixtures';
import { call, makeWorkspace, signUp, startTestDatabase } from './helpers';

const prefix = `crucible-test-gwf-${randomUUID().slice(0, 8)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-gwf-'));
const saved = { ...process.env };
let server: Server;
let baseURL = '';
let key = '';
let worker: ReturnType<typeof spawnServingWorker> | null = null;
const MODEL = 'tiny-faults';

type TRegistry = { workerId: string; url: string; busy?: number };

async function until<T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${worker?.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function registry(): Promise<TRegistry[]> {
  const { getRedisConnection } = await import('@crucible/jobs');
  const redis = getRedisConnection();
  const keys = await redis.keys(`${prefix}:serving:*`);
  const values = keys.length ? await redis.mget(...keys) : [];
  return values.filter((v): v is string => !!v).map((v) => JSON.parse(v) as TRegistry);
}

/** Requests running or waiting on the worker now (its own count, not the registry's last report). */
async function busy(): Promise<number> {
  const [w] = await registry();
  const h = (await (await fetch(`${w.url}/health`)).json()) as { holdings: { busy: number } };
  return h.holdings.busy;
}

async function startWorker() {
  worker = spawnServingWorker({
    ...testWorkerEnv(prefix, path.join(scratch, 'cache')),
    SERVING_CONTEXT_SIZE: '256',
    SERVING_THREADS: '2',
    // One waiting request per sequence: the third concurrent request finds the queue full.
    SERVING_QUEUE_PER_SEQUENCE: '1',
  });
  await until('the serving worker in the registry', async () => (await registry())[0]);
}

const headers = () => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

/** A request that holds a sequence for seconds, token by token. */
const SLOW = {
  model: MODEL,
  messages: [{ role: 'user', content: 'Numbers:' }],
  max_tokens: 24,
  temperature: 1,
  seed: 3,
  response_format: {
    type: 'json_schema',
    json_schema: { name: 'n', schema: { type: 'array', items: { type: 'number' }, minItems: 200 } },
  },
};

function post(body: unknown, signal?: AbortSignal) {
  return fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify(body),
    signal,
  });
}

async function logs() {
  const { getPrisma } = await import('@crucible/db');
  return getPrisma().requestLog.findMany({ orderBy: { createdAt: 'asc' } });
}

async function usageOf(requestId: string) {
  const { getPrisma } = await import('@crucible/db');
  const rows = await getPrisma().usageRecord.findMany({
    where: { idempotencyKey: { startsWith: `inference:${requestId}:` } },
  });
  return Object.fromEntries(rows.map((u) => [u.meter, Math.round(Number(u.quantity) * 1000)]));
}

/** Reads SSE `data:` lines until `stop` says so (or the stream ends); returns them parsed ('[DONE]' kept as is). */
async function readEvents(res: Response, stop: (events: unknown[]) => boolean = () => false): Promise<unknown[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: unknown[] = [];
  let buf = '';
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      break;
    }
    if (chunk.done) break;
    buf += decoder.decode(chunk.value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const line = buf.slice(0, i).replace(/^data: /, '');
      buf = buf.slice(i + 2);
      events.push(line === '[DONE]' ? line : JSON.parse(line));
      i = buf.indexOf('\n\n');
    }
    if (stop(events)) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return events;
}

const deltas = (events: unknown[]) =>
  events.filter(
    (e) =>
      typeof e === 'object' && (e as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content,
  );

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, { REDIS_PREFIX: prefix, GATEWAY_RATE_LIMIT: '1000', GATEWAY_RATE_WINDOW_S: '60' });
  await startTestDatabase();
  const owner = await signUp('gwf-owner');
  const ws = await makeWorkspace(owner, 'gwf');
  key = (
    await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: { slug: 'gwf' },
      body: { name: 'k' },
    })
  ).body.key as string;
  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const baseDir = path.join(scratch, 'tiny');
  await tinyBase(baseDir);
  const base = await getPrisma().baseModel.create({ data: { workspaceId: ws.id, name: MODEL, arch: 'qwen2' } });
  const baseKey = `workspaces/${ws.id}/models/${base.id}`;
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    await getStorage().putObject(`${baseKey}/${f}`, readFileSync(path.join(baseDir, f)));
  }
  await getPrisma().baseModel.update({ where: { id: base.id }, data: { objectKey: baseKey } });
  await startWorker();
  server = createServer((req, res) => {
    nodeHandler({ '/v1/chat/completions': { POST: chatCompletions }, '/v1/completions': { POST: completions } })(
      req,
      res,
    ).catch((e) => res.writeHead(500).end(String(e)));
  });
  // Longer than any pause between tests: a keep-alive socket the server closes just as the client reuses it is a
  // reset the test would read as a failure.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  // Load the model once, so the tests below time requests, not the first conversion.
  const warm = await post({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 });
  expect(warm.status, `${await warm.text()}\n${worker?.output().slice(-2000)}`).toBe(200);
}, 180_000);

afterAll(async () => {
  await tearDownServing({ prefix, scratch, env: saved, workers: [worker], server });
}, 60_000);

describe('the gateway under faults', () => {
  it('a streamed chat whose client leaves while it waits in line is logged, charged nothing, and never generated', async () => {
    const before = (await logs()).length;
    const holder = post(SLOW);
    await until('the slow request running', async () => (await busy()) === 1);
    const gone = new AbortController();
    const waiting = post({ ...SLOW, stream: true, max_tokens: 4 }, gone.signal).catch((e) => e);
    await until('the second request waiting in line', async () => (await busy()) === 2);
    gone.abort();
    await waiting;
    // The worker dropped it from its line: only the slow request is left there.
    await until('the waiting request dropped', async () => (await busy()) === 1, 10_000);
    const cancelled = await until('its log row', async () =>
      (await logs()).slice(before).find((l) => l.status === 'cancelled'),
    );
    expect(cancelled).toMatchObject({
      statusCode: 499,
      errorCode: 'client_disconnected',
      stream: true,
      promptTokens: 0,
      completionTokens: 0,
    });
    expect(await usageOf(cancelled.id)).toEqual({});
    expect((await holder).status).toBe(200);
  }, 120_000);

  it('a client that leaves mid-answer stops the generation and is charged what was generated', async () => {
    const before = (await logs()).length;
    const gone = new AbortController();
    const res = await post({ ...SLOW, stream: true }, gone.signal);
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id') as string;
    await readEvents(res, (events) => deltas(events).length >= 1);
    gone.abort();
    const row = await until('the cancelled request logged', async () => {
      const r = (await logs()).slice(before).find((l) => l.id === requestId);
      return r && r.status !== 'accepted' ? r : null;
    });
    expect(row).toMatchObject({ status: 'cancelled', statusCode: 499, errorCode: 'client_disconnected' });
    expect(row.promptTokens).toBeGreaterThan(0);
    expect(row.completionTokens).toBeGreaterThanOrEqual(1);
    expect(row.completionTokens).toBeLessThan(SLOW.max_tokens);
    expect(await usageOf(requestId)).toEqual({ input_tokens: row.promptTokens, output_tokens: row.completionTokens });
    await until('the worker idle again', async () => (await busy()) === 0, 10_000);
  }, 120_000);

  it('beyond the worker queue a request is refused at once with 503 and Retry-After', async () => {
    const holder = post(SLOW);
    await until('the slow request running', async () => (await busy()) === 1);
    const queued = post({ ...SLOW, max_tokens: 2 });
    await until('one request waiting', async () => (await busy()) === 2);
    const t0 = Date.now();
    const refused = await post({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await refused.json()).error).toMatchObject({ type: 'server_error', code: 'overloaded' });
    const failed = (await logs()).filter((l) => l.errorCode === 'overloaded');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', statusCode: 503, promptTokens: 0, completionTokens: 0 });
    expect((await holder).status).toBe(200);
    expect((await queued).status).toBe(200);
  }, 120_000);

  it('refuses a prompt far over the context before tokenising it, and a body over the limit before reading it', async () => {
    const t0 = Date.now();
    const big = await post({ model: MODEL, messages: [{ role: 'user', content: 'lorem ipsum '.repeat(250_000) }] });
    expect(big.status).toBe(400);
    const body = await big.json();
    expect(body.error.code).toBe('context_length_exceeded');
    // The cheap bound answered (characters / the longest token), not a tokenisation of 3 MB.
    expect(body.error.message).toMatch(/at least \d+ tokens/);
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Under that bound (30k characters / 128 = 235 < 256) but still far over: counted in slices that yield to the
    // worker's event loop, and refused before the whole prompt is tokenised.
    const mid = await post({ model: MODEL, messages: [{ role: 'user', content: 'word '.repeat(6_000) }] });
    expect(mid.status).toBe(400);
    const counted = Number(/at least (\d+) tokens/.exec((await mid.json()).error.message)?.[1]);
    expect(counted).toBeGreaterThan(1_000);

    // On a connection of its own (agent: false): the server answers before reading the body, and the pooled
    // connections of the other requests must not be the ones it closes.
    const huge = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] });
      const req = httpRequest(
        `${baseURL}/chat/completions`,
        { method: 'POST', agent: false, headers: { ...headers(), 'content-length': String(Buffer.byteLength(body)) } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).error).toMatchObject({ type: 'invalid_request_error', code: 'payload_too_large' });

    const plain = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(plain.status).toBe(415);
  }, 60_000);

  it('a worker killed mid-stream: the stream ends with an error event and [DONE], and what was delivered is billed', async () => {
    const res = await post({ ...SLOW, stream: true });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id') as string;
    let killed = false;
    const events = await readEvents(res, (ev) => {
      if (!killed && deltas(ev).length >= 1) {
        killed = true;
        worker?.child.kill('SIGKILL');
      }
      return ev.at(-1) === '[DONE]';
    });
    expect(killed).toBe(true);
    expect(events.at(-1)).toBe('[DONE]');
    const error = events.find((e) => typeof e === 'object' && (e as { error?: unknown }).error) as {
      error: { code: string; message: string };
    };
    expect(error.error.code).toBe('worker_failed');
    expect(error.error.message).toMatch(/stopped mid-answer after \d+ token/);
    const row = await until('the failed request logged', async () => {
      const r = (await logs()).find((l) => l.id === requestId);
      return r && r.status !== 'accepted' ? r : null;
    });
    expect(row).toMatchObject({ status: 'failed', statusCode: 502, errorCode: 'worker_failed' });
    expect(row.completionTokens).toBeGreaterThanOrEqual(deltas(events).length > 0 ? 1 : 0);
    expect(await usageOf(requestId)).toEqual({ input_tokens: row.promptTokens, output_tokens: row.completionTokens });
  }, 120_000);
});
