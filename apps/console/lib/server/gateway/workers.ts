import { getRedisConnection, loadJobsEnv } from '@crucible/jobs';
import { GatewayError } from './errors';
import type { TResolvedModel } from './models';

/** A serving worker as it registers itself in Redis (workers/serving/src/host.ts, TRegistryEntry). */
export type TServingWorker = {
  workerId: string;
  url: string;
  bases: string[];
  adapters: string[];
  /** deployments with a ready replica there */
  deployments: string[];
  /** ready replicas there, per deployment */
  replicas?: Record<string, number>;
  /** requests running or waiting there when it last reported */
  busy?: number;
  updatedAt?: string;
  heartbeatMs?: number;
};

/**
 * An entry not refreshed for three heartbeats: the worker is alive enough to keep its key (not yet expired) but not
 * answering its own timer — hung, or swamped. It is tried last, so requests stop queueing behind it long before its
 * entry expires.
 */
export function isStale(w: TServingWorker, now = Date.now()): boolean {
  if (!w.updatedAt || !w.heartbeatMs) return false;
  return now - Date.parse(w.updatedAt) > 3 * w.heartbeatMs;
}

/** Requests this console has open on each worker right now: the freshest load figure it has. */
const outstanding = new Map<string, number>();

/** Counts a request against a worker until the returned function is called (once). */
export function trackRequest(workerId: string): () => void {
  outstanding.set(workerId, (outstanding.get(workerId) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (outstanding.get(workerId) ?? 1) - 1;
    if (n > 0) outstanding.set(workerId, n);
    else outstanding.delete(workerId);
  };
}

async function listServingWorkers(): Promise<TServingWorker[]> {
  const redis = getRedisConnection();
  const pattern = `${loadJobsEnv().REDIS_PREFIX}:serving:*`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const out: TServingWorker[] = [];
  for (const v of values) {
    if (!v) continue;
    try {
      const w = JSON.parse(v) as TServingWorker;
      if (typeof w.url === 'string') out.push(w);
    } catch {
      // a malformed entry is skipped; it expires on its own
    }
  }
  return out;
}

/** Every registered worker; a 503 naming the fix when there is none. */
export async function runningWorkers(): Promise<TServingWorker[]> {
  const workers = await listServingWorkers();
  if (workers.length === 0) {
    throw new GatewayError(
      503,
      'server_error',
      'no_serving_worker',
      'No serving worker is running; start one (npm start runs workers/serving).',
    );
  }
  return workers;
}

/**
 * Workers to try, best first: those running the model's deployment (a ready replica), then one holding its adapter,
 * then one holding its base, then the rest (any worker can load any model on demand). Among the deployment's
 * workers, the least loaded per replica comes first — requests this console has open there, or what the worker last
 * reported, whichever is more — so replicas on several workers share the traffic ("least outstanding requests", as
 * Envoy balances); equal ones in random order. Other ties: the one holding fewer adapters. A worker whose entry
 * has gone stale (isStale) comes after every fresh one.
 *
 * Synchronous on purpose: a caller that ranks and calls trackRequest on its choice in the same turn (no await
 * between) never lets two requests arriving together rank against the same stale counts.
 */
export function rankWorkers(model: TResolvedModel, workers: TServingWorker[]): TServingWorker[] {
  const replicasOn = (w: TServingWorker) =>
    model.deploymentId && w.deployments.includes(model.deploymentId)
      ? Math.max(1, w.replicas?.[model.deploymentId] ?? 1)
      : 0;
  const score = (w: TServingWorker) =>
    (replicasOn(w) > 0 ? 8 : 0) +
    (model.fineTunedModelId && w.adapters.includes(model.fineTunedModelId) ? 4 : 0) +
    (w.bases.includes(model.baseModelId) ? 2 : 0);
  const load = (w: TServingWorker) =>
    Math.max(outstanding.get(w.workerId) ?? 0, w.busy ?? 0) / Math.max(1, replicasOn(w));
  const now = Date.now();
  return workers
    .map((w) => ({ w, tie: Math.random(), stale: isStale(w, now) ? 1 : 0 }))
    .sort(
      (a, b) =>
        a.stale - b.stale ||
        score(b.w) - score(a.w) ||
        (replicasOn(a.w) && replicasOn(b.w) ? load(a.w) - load(b.w) : 0) ||
        a.w.adapters.length - b.w.adapters.length ||
        a.tie - b.tie,
    )
    .map((x) => x.w);
}
