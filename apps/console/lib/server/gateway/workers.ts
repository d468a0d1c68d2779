import { getRedisConnection, loadJobsEnv } from '@crucible/jobs';
import { GatewayError } from './errors';
import type { TResolvedModel } from './models';

/** A serving worker as it registers itself in Redis (workers/serving/src/host.ts). */
export type TServingWorker = {
  workerId: string;
  url: string;
  bases: string[];
  adapters: string[];
  deployments: string[];
};

export async function listServingWorkers(): Promise<TServingWorker[]> {
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

/**
 * Workers to try, best first: the one running the model's deployment, then one holding its adapter, then one
 * holding its base, then the rest (any worker can load any model on demand). Ties: the one holding fewer adapters.
 */
export async function workersFor(model: TResolvedModel): Promise<TServingWorker[]> {
  const workers = await listServingWorkers();
  if (workers.length === 0) {
    throw new GatewayError(
      503,
      'server_error',
      'no_serving_worker',
      'No serving worker is running; start one (npm start runs workers/serving).',
    );
  }
  const score = (w: TServingWorker) =>
    (model.deploymentId && w.deployments.includes(model.deploymentId) ? 8 : 0) +
    (model.fineTunedModelId && w.adapters.includes(model.fineTunedModelId) ? 4 : 0) +
    (w.bases.includes(model.baseModelId) ? 2 : 0);
  return workers.sort((a, b) => score(b) - score(a) || a.adapters.length - b.adapters.length);
}
