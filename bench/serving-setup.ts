/**
 * What bench/gateway.ts and bench/replicas.ts both stand on: a database of their own, a workspace with an API key and
 * one base model (a random Qwen2 written here, or --model-dir), a real serving worker process, and the console with
 * the openai client pointed at it: by default the console as `npm start` runs it (its production build behind the
 * front door, server.ts, the per-key rate limiter at its default), or with `frontDoor: false` only the
 * /v1/chat/completions route handler on a plain HTTP server (no Next.js, no front door, no rate limit).
 * `close()` undoes all of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';

export const say = (m: string) => console.error(`[bench] ${m}`);

export function option(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function setUpServing(o: {
  layers: number;
  hidden: number;
  modelDir?: string;
  gpu: 'auto' | 'cpu';
  threads: number;
  workerEnv?: Record<string, string>;
  /** The request's whole path (server.ts + Next.js + rate limiter); false: the route handler alone. */
  frontDoor?: boolean;
}) {
  const frontDoor = o.frontDoor ?? true;
  say(`CPU: ${cpus()[0]?.model} x${cpus().length}`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-bench-'));
  const prefix = `crucible-bench-${process.pid}`;
  const { createTestDatabase } = await import('@crucible/db/testing');
  const db = await createTestDatabase();
  const storage = { STORAGE_DRIVER: 'local', STORAGE_DIR: path.join(scratch, 'storage') };
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    ...storage,
    ...(frontDoor ? {} : { GATEWAY_RATE_LIMIT: '0' }),
  });
  const { spawnServingWorker, nodeHandler, tinyBase } = await import('../apps/console/test/api/gateway-fixtures');
  let modelDir = o.modelDir ?? '';
  if (!modelDir) {
    modelDir = path.join(scratch, 'model');
    if (o.layers === 2 && o.hidden === 64) await tinyBase(modelDir);
    else {
      const { initModel } = await import('@crucible/trainer');
      await initModel(
        {
          arch: 'qwen2',
          layers: o.layers,
          hidden: o.hidden,
          intermediate: o.hidden * 4,
          heads: o.hidden / 64,
          kvHeads: 1,
          seed: 7,
        },
        modelDir,
      );
    }
  }
  const { getPrisma, disconnectAll } = await import('@crucible/db');
  const { createWorkspaceApiKey } = await import('@crucible/auth');
  const prisma = getPrisma();
  const workspace = await prisma.workspace.create({ data: { name: 'Bench', slug: 'bench' } });
  const base = await prisma.baseModel.create({
    data: { workspaceId: workspace.id, name: 'bench-model', arch: 'qwen2', path: modelDir },
  });
  const { key } = await createWorkspaceApiKey({ workspaceId: workspace.id, name: 'bench' });

  // The console first: a failed build or start then leaves no worker process behind.
  let baseURL: string;
  let stopConsole: () => Promise<unknown>;
  if (frontDoor) {
    const c = await import('../apps/console/e2e/console-server');
    const lock = await c.holdSessionLock();
    try {
      await c.ensureConsoleBuild(process.env);
      say('starting the console (server.ts, production build)');
      const console_ = await c.startConsole(process.env);
      baseURL = console_.baseURL;
      stopConsole = async () => {
        await console_.stop();
        await c.release(lock);
      };
    } catch (error) {
      await c.release(lock);
      throw error;
    }
  } else {
    const { chatCompletions } = await import('../apps/console/lib/server/gateway/handlers');
    const server = createServer((req, res) => {
      nodeHandler({ '/v1/chat/completions': { POST: chatCompletions } })(req, res).catch((e) =>
        res.writeHead(500).end(String(e)),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stopConsole = () => new Promise((r) => server.close(r));
  }
  say('starting the serving worker');
  const worker = spawnServingWorker({
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    ...storage,
    SERVING_PORT: '0',
    SERVING_CACHE_DIR: path.join(scratch, 'cache'),
    SERVING_GPU: o.gpu,
    SERVING_GGUF_TYPE: 'F16',
    SERVING_CONTEXT_SIZE: '1024',
    SERVING_THREADS: String(o.threads),
    ...o.workerEnv,
  });
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({
    apiKey: key,
    baseURL: `${baseURL}/v1`,
    maxRetries: 0,
  });
  const jobs = await import('@crucible/jobs');
  const redis = jobs.getRedisConnection();

  /** Polls `fn` every 100 ms for up to 2 minutes. */
  const waitFor = async (what: string, fn: () => Promise<boolean>) => {
    for (let i = 0; !(await fn()); i++) {
      if (i > 1200) throw new Error(`${what} did not happen:\n${worker.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await waitFor('the serving worker registering', async () => (await redis.keys(`${prefix}:serving:*`)).length > 0);
  } catch (error) {
    worker.child.kill('SIGTERM');
    await stopConsole();
    throw error;
  }

  return {
    scratch,
    prefix,
    prisma,
    jobs,
    workspace,
    base,
    modelDir,
    client,
    frontDoor,
    worker,
    waitFor,
    async close() {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await stopConsole();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await jobs.closeQueues();
      await jobs.closeRedisConnection();
      await disconnectAll();
      await db.drop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
