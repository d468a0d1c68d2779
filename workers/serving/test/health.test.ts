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
import { createEngine, livenessOf, type TEngine } from '../src/engine';
import { createServingHost, registryKey, type TServingHost } from '../src/host';

/**
 * Periodic health checks of a deployment's replica, with a real busy replica: its only sequence is held by a long
 * grammar-constrained generation (llama.cpp checks the grammar over the whole 151k vocabulary per token, a few tokens
 * a second here). Checks do not queue behind it: a replica busy and producing tokens is healthy (issue 13, finding 4:
 * busy replicas used to fail three checks and be reopened). A reopen keeps the request in flight on the old context.
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
    // Longer than the slow request below takes per token (a busy replica's progress counts only within it).
    healthTimeoutMs: 5_000,
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

it('a busy replica producing tokens stays healthy; a reopen never drops the request in flight', async () => {
  expect(await host.start(depId)).toBe('running');
  expect(await replica()).toMatchObject({ status: 'ready', workerId: 'w-health', healthFailures: 0 });
  await host.reconcile();
  expect((await replica()).status).toBe('ready'); // an idle replica passes its one-token check
  expect(await listed()).toEqual([depId]);

  // A long request takes the replica's only sequence and produces a token every few hundred ms.
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

  // Checks while it runs do not queue behind it (each would have waited, failed, and after three the replica
  // would have been reopened): the replica is busy and making progress, so it is healthy.
  for (let i = 0; i < 4; i++) {
    const t0 = Date.now();
    await host.reconcile();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await replica()).toMatchObject({ status: 'ready', healthFailures: 0, errorCode: null });
    expect(await listed()).toEqual([depId]);
  }

  // A reopen (what three failed checks lead to) gives new requests a fresh context at once; the long request is
  // not dropped: it finishes on the retired one.
  await engine.reopen(target);
  const quick = await engine.generate(target, { kind: 'completion', prompt: 'Hi', maxTokens: 2, temperature: 0 });
  expect(quick.completionTokens).toBeGreaterThan(0);
  const done = await long;
  expect(done.completionTokens).toBeGreaterThan(3);
  expect(done.text.startsWith('[')).toBe(true);
}, 180_000);

it('tells a hung replica from a busy one: every sequence busy and no progress within the window is stalled', () => {
  const now = 1_000_000;
  expect(livenessOf({ free: 1, lastProgress: 0, now, windowMs: 400 })).toBe('probe');
  expect(livenessOf({ free: 0, lastProgress: now - 100, now, windowMs: 400 })).toBe('alive');
  expect(livenessOf({ free: 0, lastProgress: now - 401, now, windowMs: 400 })).toBe('stalled');
});

it('never adopts a replica whose worker is alive under another prefix; adopts it once that worker is gone', async () => {
  const dep = await prisma.deployment.create({
    data: {
      workspaceId: (await prisma.deployment.findUniqueOrThrow({ where: { id: depId } })).workspaceId,
      name: `other-${randomUUID().slice(0, 6)}`,
      baseModelId: baseId,
      replicas: 1,
      contextSize: 256,
      status: 'running',
    },
  });
  await prisma.deploymentReplica.create({
    data: { deploymentId: dep.id, index: 0, workerId: 'w-elsewhere', status: 'ready' },
  });
  // The owner is alive, in the registry of another install that shares this database.
  const otherKey = registryKey(`${prefix}-other`, 'w-elsewhere');
  await redis.set(otherKey, JSON.stringify({ workerId: 'w-elsewhere' }), 'EX', 60);
  await host.reconcile();
  const mine = () => prisma.deploymentReplica.findFirstOrThrow({ where: { deploymentId: dep.id } });
  expect((await mine()).workerId).toBe('w-elsewhere');
  await redis.del(otherKey);
  await host.reconcile();
  expect((await mine()).workerId).toBe('w-health');
}, 120_000);
