import { type ChildProcess, spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { THandler } from '../../lib/server/http';

export { tinyAdapter, tinyBase } from '@crucible/trainer/testing';

const MAIN = fileURLToPath(new URL('../../../../workers/serving/src/main.ts', import.meta.url));
const HOUSEKEEPING_MAIN = fileURLToPath(new URL('../../../../workers/housekeeping/src/main.ts', import.meta.url));
const EVALUATION_FIXTURE = fileURLToPath(
  new URL('../../../../workers/serving/test/fixtures/evaluation-worker.ts', import.meta.url),
);

/**
 * What every test's serving worker shares: this test's database, Redis prefix and storage, any free port, CPU,
 * F32 GGUFs (exact, so answers compare), a cache folder of its own.
 */
export function testWorkerEnv(prefix: string, cacheDir: string): Record<string, string> {
  return {
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    REDIS_PREFIX: prefix,
    STORAGE_DRIVER: process.env.STORAGE_DRIVER ?? 'local',
    ...(process.env.STORAGE_DIR ? { STORAGE_DIR: process.env.STORAGE_DIR } : {}),
    SERVING_PORT: '0',
    SERVING_CACHE_DIR: cacheDir,
    SERVING_GPU: 'cpu',
    SERVING_GGUF_TYPE: 'F32',
  };
}

type TWorkerProcess = { child: ChildProcess; output: () => string; exited: Promise<unknown> };

/** The serving worker as `npm start` runs it: a real process. */
export function spawnServingWorker(env: Record<string, string>): TWorkerProcess {
  return spawnMain(MAIN, env);
}

/** The housekeeping worker (model exports, dataset imports, billing) as `npm start` runs it: a real process. */
export function spawnHousekeepingWorker(env: Record<string, string>): TWorkerProcess {
  return spawnMain(HOUSEKEEPING_MAIN, env);
}

/** The serving worker's evaluations runtime alone, with a 2 s lock (a killed one's run is resumed in seconds). */
export function spawnEvaluationWorker(env: Record<string, string>): TWorkerProcess {
  return spawnMain(EVALUATION_FIXTURE, env);
}

function spawnMain(main: string, env: Record<string, string>): TWorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: path.dirname(main),
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, output: () => out, exited };
}

/** SIGTERM (waking a stopped one first), then SIGKILL if it has not exited within 15 s. */
export async function stopServingWorker(worker: ReturnType<typeof spawnServingWorker> | null | undefined) {
  if (!worker) return;
  worker.child.kill('SIGCONT');
  worker.child.kill('SIGTERM');
  await Promise.race([worker.exited, new Promise((r) => setTimeout(r, 15_000))]);
  worker.child.kill('SIGKILL');
}

/**
 * The end of a test file that ran serving workers: stops them and the HTTP server, removes the file's Redis keys,
 * closes the queues and Redis, drops the test database and storage, deletes the scratch folder, restores the env.
 */
export async function tearDownServing(o: {
  prefix: string;
  scratch: string;
  env: NodeJS.ProcessEnv;
  workers: (ReturnType<typeof spawnServingWorker> | null | undefined)[];
  server?: import('node:http').Server;
}) {
  await Promise.all(o.workers.map(stopServingWorker));
  await new Promise((resolve) => (o.server ? o.server.close(resolve) : resolve(undefined)));
  const jobs = await import('@crucible/jobs');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  const keys = await redis.keys(`${o.prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await jobs.closeRedisConnection();
  const { stopTestDatabase } = await import('./helpers');
  await stopTestDatabase();
  const { dropTestStorage } = await import('./datasets-helpers');
  await dropTestStorage();
  const { rmSync } = await import('node:fs');
  rmSync(o.scratch, { recursive: true, force: true });
  process.env = o.env;
}

/** Serves handlers on node:http like Next would: a standard Request in, the Response streamed out. */
export function nodeHandler(routes: Record<string, Partial<Record<string, THandler>>>) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // exact paths, or patterns with [param] segments as Next names them
    let params: Record<string, string> = {};
    let handler = routes[url.pathname]?.[req.method ?? ''];
    for (const [pattern, methods] of Object.entries(routes)) {
      if (handler || !pattern.includes('[')) continue;
      const names: string[] = [];
      const re = new RegExp(
        `^${pattern.replace(/\[([^\]]+)\]/g, (_, n: string) => {
          names.push(n);
          return '([^/]+)';
        })}$`,
      );
      const m = re.exec(url.pathname);
      if (!m || !methods[req.method ?? '']) continue;
      handler = methods[req.method ?? ''];
      params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    }
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    // As Next.js does: the request's signal aborts when the client's connection closes before the answer is done.
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
      duplex: 'half',
      signal: gone.signal,
    } as RequestInit);
    const response = await handler(request, params);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    res.on('close', () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  };
}

/** Polls `fn` every 200 ms until it gives a truthy value; a timeout names `what` and ends with `output()` (a log). */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | null | false | undefined>,
  timeoutMs = 90_000,
  output: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The serving workers' registry entries (`{prefix}:serving:{workerId}`) as they are in Redis now. */
export async function servingRegistry<T>(prefix: string): Promise<T[]> {
  const { getRedisConnection } = await import('@crucible/jobs');
  const redis = getRedisConnection();
  const keys = await redis.keys(`${prefix}:serving:*`);
  const values = keys.length ? await redis.mget(...keys) : [];
  return values.filter((v): v is string => !!v).map((v) => JSON.parse(v) as T);
}
