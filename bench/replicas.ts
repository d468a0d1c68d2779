/**
 * What replicas buy (not a test): aggregate tokens/s and time to first text of C concurrent streamed chats through
 * the gateway to one deployment, served with 1 replica (requests wait for the one sequence) and with C replicas on
 * the same worker (C sequences of one context, which llama.cpp decodes in one batch), same model, same run.
 *
 *   npx tsx bench/replicas.ts [--concurrency 4] [--max-tokens 64] [--rounds 3] [--layers 4] [--hidden 256] [--threads 2]
 *
 * Needs Postgres and Redis (DATABASE_URL / REDIS_URL as everywhere); creates and drops its own database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const concurrency = Number(opt('concurrency', '4'));
const maxTokens = Number(opt('max-tokens', '64'));
const rounds = Number(opt('rounds', '3'));
const threads = Number(opt('threads', '2'));
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-bench-rep-'));
const prefix = `crucible-bench-${process.pid}`;
const say = (m: string) => console.error(`[bench] ${m}`);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { createTestDatabase } = await import('@crucible/db/testing');
  const db = await createTestDatabase();
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: path.join(scratch, 'storage'),
    GATEWAY_RATE_LIMIT: '0',
  });
  const { spawnServingWorker, nodeHandler } = await import('../apps/console/test/api/gateway-fixtures');
  const { initModel } = await import('@crucible/trainer');
  const modelDir = path.join(scratch, 'model');
  const hidden = Number(opt('hidden', '256'));
  await initModel(
    {
      arch: 'qwen2',
      layers: Number(opt('layers', '4')),
      hidden,
      intermediate: hidden * 4,
      heads: hidden / 64,
      kvHeads: 1,
      seed: 7,
    },
    modelDir,
  );
  const { getPrisma, disconnectAll } = await import('@crucible/db');
  const { createWorkspaceApiKey } = await import('@crucible/auth');
  const prisma = getPrisma();
  const ws = await prisma.workspace.create({ data: { name: 'Bench', slug: 'bench' } });
  const base = await prisma.baseModel.create({
    data: { workspaceId: ws.id, name: 'bench-model', arch: 'qwen2', path: modelDir },
  });
  const { key } = await createWorkspaceApiKey({ workspaceId: ws.id, name: 'bench' });

  say('starting the serving worker');
  const worker = spawnServingWorker({
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: path.join(scratch, 'storage'),
    SERVING_PORT: '0',
    SERVING_CACHE_DIR: path.join(scratch, 'cache'),
    SERVING_GPU: 'cpu',
    SERVING_GGUF_TYPE: 'F16',
    SERVING_THREADS: String(threads),
    SERVING_HEALTH_EVERY_MS: '600000', // no health checks inside the measurement
  });
  const { chatCompletions } = await import('../apps/console/lib/server/gateway/handlers');
  const server = createServer((req, res) => {
    nodeHandler({ '/v1/chat/completions': { POST: chatCompletions } })(req, res).catch((e) =>
      res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({
    apiKey: key,
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    maxRetries: 0,
  });
  const jobs = await import('@crucible/jobs');

  const wait = async (what: string, fn: () => Promise<boolean>) => {
    for (let i = 0; !(await fn()); i++) {
      if (i > 1200) throw new Error(`${what} did not happen:\n${worker.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await wait(
    'worker registration',
    async () => (await jobs.getRedisConnection().keys(`${prefix}:serving:*`)).length > 0,
  );

  async function oneChat(i: number) {
    const t0 = performance.now();
    let first = 0;
    let tokens = 0;
    const stream = await client.chat.completions.create({
      model: 'bench-model',
      messages: [{ role: 'user', content: `Tell story number ${i} about a lighthouse in a storm.` }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content) first ||= performance.now();
      if (c.usage) tokens = c.usage.completion_tokens;
    }
    return { ttftMs: first - t0, tokens };
  }

  async function measure(replicas: number) {
    const dep = await prisma.deployment.create({
      data: { workspaceId: ws.id, name: `r${replicas}`, baseModelId: base.id, replicas, contextSize: 512 },
    });
    await jobs.enqueue(jobs.deploymentActionJob, { deploymentId: dep.id, action: 'start' });
    await wait('the deployment running', async () => {
      const n = await prisma.deploymentReplica.count({ where: { deploymentId: dep.id, status: 'ready' } });
      return n === replicas;
    });
    await Promise.all(Array.from({ length: concurrency }, (_, i) => oneChat(i))); // warm-up
    const perRound: { tps: number; ttft: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: concurrency }, (_, i) => oneChat(i)));
      const wall = performance.now() - t0;
      const tokens = results.reduce((s, x) => s + x.tokens, 0);
      perRound.push({ tps: (tokens / wall) * 1000, ttft: med(results.map((x) => x.ttftMs)) });
    }
    await jobs.enqueue(jobs.deploymentActionJob, { deploymentId: dep.id, action: 'stop' });
    await wait('the deployment stopped', async () => {
      const d = await prisma.deployment.findUniqueOrThrow({ where: { id: dep.id } });
      return d.status === 'stopped';
    });
    return {
      replicas,
      concurrency,
      aggregateTokensPerSecMedian: Math.round(med(perRound.map((x) => x.tps)) * 10) / 10,
      ttftMsMedian: Math.round(med(perRound.map((x) => x.ttft))),
    };
  }

  const one = await measure(1);
  const many = await measure(concurrency);
  console.table([one, many]);
  console.log(
    JSON.stringify(
      {
        model: { layers: Number(opt('layers', '4')), hidden },
        maxTokens,
        threads,
        throughputRatio: Math.round((many.aggregateTokensPerSecMedian / one.aggregateTokensPerSecMedian) * 100) / 100,
        rows: [one, many],
      },
      null,
      2,
    ),
  );

  worker.child.kill('SIGTERM');
  await worker.exited;
  server.close();
  const redis = jobs.getRedisConnection();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await jobs.closeQueues();
  await jobs.closeRedisConnection();
  await disconnectAll();
  await db.drop();
  rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  rmSync(scratch, { recursive: true, force: true });
  process.exit(1);
});
