import { getPrisma } from '@crucible/db';
import { getSession, isInstanceAdmin } from '../context';
import { checkStorage, pingRedis, readHeartbeats } from '../health-deps';
import { json } from '../http';

/**
 * GET /api/health: one JSON answer about everything the console depends on.
 * 200 when the database and Redis answer (the console cannot work without
 * them), 503 otherwise; storage and workers are reported but do not fail it,
 * since the console still serves pages while a worker restarts.
 *
 * `status` is `ok`, `degraded` (the console works, but something a user needs is missing: no live trainer, serving
 * or housekeeping worker, storage unreachable — `degraded` names which) or `error`. Anyone may ask (liveness: load
 * balancers, docker-compose, monitors) and gets only that; the details (latencies, error messages, worker ids,
 * hosts and PIDs) are for instance admins (issue 11, finding 11: they were public).
 */

export type TCheck = { status: 'ok' | 'error'; latencyMs: number; error?: string };
export type TWorkerStatus = { kind: string; workerId: string; state?: string; [k: string]: unknown };

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

/** What is missing for a user, in words; empty when nothing is. */
function degradedBy(storage: TCheck, workers: TWorkerStatus[]): string[] {
  const live = (kind: string) => workers.some((w) => w.kind === kind && w.state !== 'unresponsive');
  const out: string[] = [];
  if (!live('trainer')) out.push('no trainer worker is running: jobs wait in the queue');
  if (!live('serving')) out.push('no serving worker is running: chat and deployments are unavailable');
  if (!live('housekeeping')) {
    out.push('no housekeeping worker is running: dataset imports, model exports and billing accrual wait');
  }
  if (storage.status !== 'ok') out.push('object storage is not answering');
  return out;
}

async function callerIsInstanceAdmin(req: Request): Promise<boolean> {
  if (!req.headers.get('cookie')) return false;
  const session = await getSession(req.headers).catch(() => null);
  return session ? isInstanceAdmin(session.user.id).catch(() => false) : false;
}

export function createHealthHandler(checks: THealthChecks = defaultHealthChecks) {
  return async (req: Request): Promise<Response> => {
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
    const degraded = ok ? degradedBy(storage, workers) : [];
    const status = !ok ? 'error' : degraded.length ? 'degraded' : 'ok';
    const headers = { 'cache-control': 'no-store' };
    const failing = [...(database.status === 'ok' ? [] : ['database']), ...(redis.status === 'ok' ? [] : ['redis'])];
    const summary = {
      status,
      time: new Date().toISOString(),
      ...(failing.length ? { failing } : {}),
      ...(degraded.length ? { degraded } : {}),
    };
    if (!ok || !(await callerIsInstanceAdmin(req))) return json(summary, { status: ok ? 200 : 503, headers });
    return json(
      { ...summary, database, redis, storage, workers: { ...workersCheck, count: workers.length, list: workers } },
      { status: 200, headers },
    );
  };
}

export const getHealth = createHealthHandler();
