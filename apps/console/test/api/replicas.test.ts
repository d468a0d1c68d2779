// @vitest-environment node
/**
 * Dedicated deployments with replicas across two real serving worker processes (issue 6, "a replica count ...
 * health-checked"): the replicas are placed on both workers (several on one become sequences of one context there),
 * concurrent requests through the gateway spread over them, a worker that hangs (SIGSTOP) loses its replica to the
 * other one once its registry entry expires, and takes nothing back when it wakes up. Real Postgres, Redis, storage
 * and llama.cpp; the registry TTL, heartbeat and health interval are shortened so it all happens in seconds.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletions } from '../../lib/server/gateway/handlers';
import { useTestStorage } from './datasets-helpers';
import { nodeHandler, spawnServingWorker, tearDownServing, testWorkerEnv, tinyBase } from './gateway-fixtures';
import { call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-replicas-'));
const saved = { ...process.env };
const P = '/api/workspaces/[slug]/deployments';

type TWorker = ReturnType<typeof spawnServingWorker> & { id?: string; url?: string };
type TEntry = { workerId: string; url: string; deployments: string[]; replicas: Record<string, number> };

let owner: TCaller;
let key = '';
let baseId = '';
let baseUrl = '';
let server: Server;
const workers: TWorker[] = [];

async function until<T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function registry(): Promise<TEntry[]> {
  const { getRedisConnection } = await import('@crucible/jobs');
  const redis = getRedisConnection();
  const keys = await redis.keys(`${prefix}:serving:*`);
  const values = keys.length ? await redis.mget(...keys) : [];
  return values.filter((v): v is string => !!v).map((v) => JSON.parse(v) as TEntry);
}

function spawnWorker(): TWorker {
  const w: TWorker = spawnServingWorker({
    ...testWorkerEnv(prefix, path.join(scratch, `cache-${workers.length}`)),
    SERVING_CONTEXT_SIZE: '256',
    SERVING_THREADS: '1',
    SERVING_HEARTBEAT_MS: '300',
    SERVING_REGISTRY_TTL_S: '2',
    SERVING_HEALTH_EVERY_MS: '1000',
  });
  workers.push(w);
  return w;
}

async function replicaRows(deploymentId: string) {
  const { getPrisma } = await import('@crucible/db');
  return getPrisma().deploymentReplica.findMany({ where: { deploymentId }, orderBy: { index: 'asc' } });
}

async function chat(): Promise<{ status: number; servedBy: string | null }> {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'tiny-qwen',
      messages: [{ role: 'user', content: 'Count to ten.' }],
      max_tokens: 24,
      temperature: 0,
    }),
  });
  await res.text();
  return { status: res.status, servedBy: res.headers.get('x-crucible-served-by') };
}

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, { REDIS_PREFIX: prefix, GATEWAY_RATE_LIMIT: '1000' });
  await startTestDatabase();
  owner = await signUp('replicas-owner');
  const ws = await makeWorkspace(owner, 'replicas-a');
  key = (
    await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: { slug: 'replicas-a' },
      body: { name: 'sdk' },
    })
  ).body.key;
  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const baseDir = path.join(scratch, 'tiny');
  await tinyBase(baseDir);
  const base = await getPrisma().baseModel.create({ data: { workspaceId: ws.id, name: 'tiny-qwen', arch: 'qwen2' } });
  baseId = base.id;
  const objectKey = `workspaces/${ws.id}/models/${base.id}`;
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    await getStorage().putObject(`${objectKey}/${f}`, readFileSync(path.join(baseDir, f)));
  }
  await getPrisma().baseModel.update({ where: { id: base.id }, data: { objectKey } });

  spawnWorker();
  spawnWorker();
  const entries = await until('both workers in the registry', async () => {
    const r = await registry();
    return r.length === 2 ? r : null;
  });
  for (const w of workers) {
    // a worker logs "[serving] serving API at URL"; its registry entry has the same URL
    const url = await until('the worker URL', async () => /serving API at (\S+)/.exec(w.output())?.[1]);
    w.id = entries.find((e) => e.url === url)?.workerId;
  }
  expect(new Set(workers.map((w) => w.id)).size).toBe(2);
  server = createServer((req, res) => {
    nodeHandler({ '/v1/chat/completions': { POST: chatCompletions } })(req, res).catch((e) =>
      res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await tearDownServing({ prefix, scratch, env: saved, workers, server });
}, 60_000);

describe('a deployment with 3 replicas on 2 workers', () => {
  let depId = '';

  it('places the replicas on both workers, 2 + 1, each worker serving its share as sequences of one context', async () => {
    const created = await call('POST', P, {
      caller: owner,
      params: { slug: 'replicas-a' },
      body: { name: 'tiny-3', modelId: baseId, modelKind: 'base', replicas: 3, contextSize: 256 },
    });
    expect(created.status).toBe(201);
    depId = created.body.id;
    const running = await until('3 ready replicas', async () => {
      const r = await call('GET', `${P}/[deploymentId]`, {
        caller: owner,
        params: { slug: 'replicas-a', deploymentId: depId },
      });
      if (r.body.status === 'failed') throw new Error(JSON.stringify(r.body));
      return r.body.readyReplicas === 3 ? r.body : null;
    });
    expect(running.status).toBe('running');
    expect(running.replicaList.map((r: { status: string }) => r.status)).toEqual(['ready', 'ready', 'ready']);
    const perWorker = new Map<string, number>();
    for (const r of running.replicaList) perWorker.set(r.workerId, (perWorker.get(r.workerId) ?? 0) + 1);
    expect([...perWorker.values()].sort()).toEqual([1, 2]);
    // Each worker says the same in the registry and holds that many sequences of the model.
    const entries = await until('both registry entries listing the deployment', async () => {
      const r = await registry();
      return r.every((e) => e.deployments.includes(depId)) ? r : null;
    });
    for (const e of entries) {
      expect(e.replicas[depId]).toBe(perWorker.get(e.workerId));
      const health = (await (await fetch(`${e.url}/health`)).json()) as {
        holdings: { sequences: Record<string, number> };
      };
      expect(health.holdings.sequences[`base:${baseId}`]).toBe(perWorker.get(e.workerId));
    }
    // Health checks keep running: lastHealthAt moves on.
    const before = (await replicaRows(depId)).map((r) => r.lastHealthAt?.getTime() ?? 0);
    await until('a newer health check', async () => {
      const after = (await replicaRows(depId)).map((r) => r.lastHealthAt?.getTime() ?? 0);
      return after.every((t, i) => t > before[i]);
    });
  });

  it('spreads concurrent requests over both workers', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => chat()));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const served = new Set(results.map((r) => r.servedBy));
    expect(served).toEqual(new Set(workers.map((w) => w.id)));
  });

  it('moves the replica of a hung worker to the other one, which then serves alone', async () => {
    const rows = await replicaRows(depId);
    const loneId = [...new Set(rows.map((r) => r.workerId))].find(
      (id) => rows.filter((r) => r.workerId === id).length === 1,
    );
    const lone = workers.find((w) => w.id === loneId)!;
    const other = workers.find((w) => w !== lone)!;
    lone.child.kill('SIGSTOP');
    try {
      const moved = await until('all replicas on the other worker, ready', async () => {
        const r = await replicaRows(depId);
        return r.every((x) => x.workerId === other.id && x.status === 'ready') ? r : null;
      });
      expect(moved).toHaveLength(3);
      const dep = await call('GET', `${P}/[deploymentId]`, {
        caller: owner,
        params: { slug: 'replicas-a', deploymentId: depId },
      });
      expect(dep.body).toMatchObject({ status: 'running', readyReplicas: 3 });
      await until('the registry without the hung worker', async () => {
        const r = await registry();
        return r.length === 1 && r[0].replicas[depId] === 3;
      });
      const results = await Promise.all(Array.from({ length: 3 }, () => chat()));
      expect(results.map((r) => [r.status, r.servedBy])).toEqual(Array(3).fill([200, other.id]));
    } finally {
      lone.child.kill('SIGCONT');
    }
    // Awake again, it finds its replica placed elsewhere and lets go of it.
    await until('the woken worker back in the registry, holding nothing', async () => {
      const e = (await registry()).find((x) => x.workerId === lone.id);
      return e && e.deployments.length === 0;
    });
    expect((await replicaRows(depId)).every((r) => r.workerId === other.id)).toBe(true);
    // Detecting the hang (registry TTL 2 s), loading two more replicas and letting go took 23 s on an idle 2-core
    // machine: the default 30 s left no room for a busy one.
  }, 90_000);

  it('stop lets every worker go of it', async () => {
    const params = { slug: 'replicas-a', deploymentId: depId };
    expect((await call('POST', `${P}/[deploymentId]/stop`, { caller: owner, params })).status).toBe(202);
    await until('stopped, nothing in the registry', async () => {
      const d = await call('GET', `${P}/[deploymentId]`, { caller: owner, params });
      const r = await registry();
      return d.body.status === 'stopped' && r.every((e) => !e.deployments.includes(depId));
    });
    expect(await replicaRows(depId)).toEqual([]);
  });
});
