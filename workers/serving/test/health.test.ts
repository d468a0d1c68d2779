import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disconnectAll, type PrismaClient } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { createRedisConnection } from '@crucible/jobs';
import { createLocalStorage, uploadDir } from '@crucible/storage';
import { tinyBase } from '@crucible/trainer/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type TEngine } from '../src/engine';
import { createServingHost, registryKey, type TServingHost } from '../src/host';

/**
 * Periodic health checks of a deployment's replica, with a real busy replica: its only sequence is held by a long
 * grammar-constrained generation (llama.cpp checks the grammar over the whole 151k vocabulary per token, a few tokens
 * a second here), so a one-token health check cannot get a sequence within its timeout. The replica turns unhealthy
 * (and leaves the registry, so the console routes around it), and after `maxHealthFailures` checks in a row its
 * context is reopened: the fresh context answers at once, while the long request still finishes on the old one.
 */

let db: TTestDatabase;
let prisma: PrismaClient;
let engine: TEngine;
let host: TServingHost;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const savedUrl = process.env.DATABASE_URL;
const dir = mkdtempSync(join(tmpdir(), 'crucible-health-'));
let baseId = '';
let depId = '';

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  process.env.DATABASE_URL = db.url;
  const storage = createLocalStorage({
    root: join(dir, 'storage'),
    signingSecret: 'x'.repeat(32),
    publicUrl: 'http://127.0.0.1:1',
  });
  engine = createEngine({
    storage,
    cacheDir: join(dir, 'cache'),
    maxAdapters: 2,
    contextSize: 256,
    gpu: false,
    ggufType: 'F32',
    threads: 2,
  });
  host = createServingHost({
    engine,
    redis,
    prefix,
    workerId: 'w-health',
    url: 'http://127.0.0.1:1',
    healthEveryMs: 0, // every reconcile checks
    healthTimeoutMs: 400,
    maxHealthFailures: 3,
  });
  await tinyBase(join(dir, 'base'));
  const tag = randomUUID().slice(0, 8);
  const ws = await prisma.workspace.create({ data: { name: `WS ${tag}`, slug: `ws-${tag}` } });
  const objectKey = `workspaces/${ws.id}/models/base`;
  await uploadDir(storage, join(dir, 'base'), objectKey);
  baseId = (
    await prisma.baseModel.create({ data: { workspaceId: ws.id, name: `tiny-${tag}`, arch: 'qwen2', objectKey } })
  ).id;
  depId = (
    await prisma.deployment.create({
      data: { workspaceId: ws.id, name: `dep-${tag}`, baseModelId: baseId, replicas: 1, contextSize: 256 },
    })
  ).id;
}, 120_000);

afterAll(async () => {
  await host?.close();
  await engine?.dispose();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env.DATABASE_URL = savedUrl;
  rmSync(dir, { recursive: true, force: true });
});

const replica = () => prisma.deploymentReplica.findFirstOrThrow({ where: { deploymentId: depId } });
const listed = async () =>
  (JSON.parse((await redis.get(registryKey(prefix, 'w-health'))) ?? '{}') as { deployments?: string[] }).deployments;

it('marks a replica that cannot answer a health check unhealthy, then reopens its context', async () => {
  expect(await host.start(depId)).toBe('running');
  expect(await replica()).toMatchObject({ status: 'ready', workerId: 'w-health', healthFailures: 0 });
  await host.reconcile();
  expect((await replica()).status).toBe('ready'); // an idle replica passes its check
  expect(await listed()).toEqual([depId]);

  // A long request takes the replica's only sequence.
  const target = { baseModelId: baseId };
  const long = engine.generate(target, {
    kind: 'completion',
    prompt: 'Numbers:',
    maxTokens: 40,
    temperature: 1,
    seed: 3,
    jsonSchema: { type: 'array', items: { type: 'number' }, minItems: 200 },
  });
  for (let i = 0; i < 100 && (await engine.holdings()).busy === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect((await engine.holdings()).busy).toBe(1);

  await host.reconcile();
  const first = await replica();
  expect(first).toMatchObject({ status: 'unhealthy', healthFailures: 1, errorCode: 'health_check_failed' });
  expect(first.errorMessage).toMatch(/no sequence became free within 400 ms/);
  // Unhealthy: still a running deployment, but not offered to the console for routing.
  expect((await prisma.deployment.findUniqueOrThrow({ where: { id: depId } })).status).toBe('running');
  expect(await listed()).toEqual([]);

  await host.reconcile();
  expect(await replica()).toMatchObject({ status: 'unhealthy', healthFailures: 2 });
  // The third failure in a row reopens the context: new requests get a fresh sequence at once.
  await host.reconcile();
  expect(await replica()).toMatchObject({ status: 'ready', healthFailures: 0, errorCode: null });
  expect(await listed()).toEqual([depId]);
  const quick = await engine.generate(target, { kind: 'completion', prompt: 'Hi', maxTokens: 2, temperature: 0 });
  expect(quick.completionTokens).toBeGreaterThan(0);

  // The long request was not cut off: it finishes on the retired context.
  const done = await long;
  expect(done.completionTokens).toBeGreaterThan(3);
  expect(done.text.startsWith('[')).toBe(true);
}, 180_000);
