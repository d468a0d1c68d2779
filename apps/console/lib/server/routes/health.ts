import { getPrisma } from '@crucible/db';
import { checkStorage, pingRedis, readHeartbeats } from '../health-deps';
import { json } from '../http';

/**
 * GET /api/health: one JSON answer about everything the console depends on.
 * 200 when the database and Redis answer (the console cannot work without
 * them), 503 otherwise; storage and workers are reported but do not fail it,
 * since the console still serves pages while a worker restarts.
 */

export type TCheck = { status: 'ok' | 'error'; latencyMs: number; error?: string };
export type TWorkerStatus = { kind: string; workerId: string; [k: string]: unknown };

export type THealthChecks = {
  database: () => Promise<void>;
  redis: () => Promise<void>;
  storage: () => Promise<void>;
  workers: () => Promise<TWorkerStatus[]>;
};

const TIMEOUT_MS = 3000;

async function timed(fn: () => Promise<unknown>): Promise<TCheck> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { status: 'ok', latencyMs: Date.now() - started };
  } catch (error) {
    return { status: 'error', latencyMs: Date.now() - started, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export const defaultHealthChecks: THealthChecks = {
  database: async () => {
    await getPrisma().$queryRaw`SELECT 1`;
  },
  redis: pingRedis,
  storage: checkStorage,
  workers: readHeartbeats,
};

export function createHealthHandler(checks: THealthChecks = defaultHealthChecks) {
  return async (_req: Request): Promise<Response> => {
    let workers: TWorkerStatus[] = [];
    const [database, redis, storage, workersCheck] = await Promise.all([
      timed(checks.database),
      timed(checks.redis),
      timed(checks.storage),
      timed(async () => {
        workers = await checks.workers();
      }),
    ]);
    const ok = database.status === 'ok' && redis.status === 'ok';
    return json(
      {
        status: ok ? 'ok' : 'error',
        time: new Date().toISOString(),
        database,
        redis,
        storage,
        workers: { ...workersCheck, count: workers.length, list: workers },
      },
      { status: ok ? 200 : 503, headers: { 'cache-control': 'no-store' } },
    );
  };
}

export const getHealth = createHealthHandler();
