import { getPrisma } from '@crucible/db';
import type { Redis } from 'ioredis';
import type { TEngine, TTarget } from './engine';

/**
 * What this process serves, as seen by the rest of the system:
 * - the Redis registry `${REDIS_PREFIX}:serving:{workerId}` → `{workerId, url, bases, adapters, deployments}` (TTL
 *   30 s, refreshed every 5 s and after every change), which the console reads to route requests;
 * - dedicated deployments: loaded and pinned, health-checked with a one-token generation, status in the database.
 */

export const REGISTRY_TTL_S = 30;
export const registryKey = (prefix: string, workerId: string) => `${prefix}:serving:${workerId}`;

export type TServingHost = ReturnType<typeof createServingHost>;

let current: TServingHost | null = null;
/** The host of this process (the deployments job handler runs beside it). */
export const getServingHost = () => current;
export const setServingHost = (h: TServingHost | null) => {
  current = h;
};

const pinKey = (deploymentId: string) => `deployment:${deploymentId}`;

export function createServingHost(o: {
  engine: TEngine;
  redis: Redis;
  prefix: string;
  workerId: string;
  url: string;
  log?: (m: string) => void;
}) {
  const log = o.log ?? (() => {});
  const deployments = new Set<string>();
  let timer: NodeJS.Timeout | null = null;

  async function publish() {
    const held = await o.engine.holdings();
    const entry = {
      workerId: o.workerId,
      url: o.url,
      bases: held.bases,
      adapters: held.adapters,
      deployments: [...deployments],
      updatedAt: new Date().toISOString(),
    };
    await o.redis.set(registryKey(o.prefix, o.workerId), JSON.stringify(entry), 'EX', REGISTRY_TTL_S);
  }

  async function targetOf(deploymentId: string): Promise<TTarget | null> {
    const row = await getPrisma().deployment.findUnique({
      where: { id: deploymentId },
      include: { fineTunedModel: { select: { baseModelId: true, id: true } } },
    });
    if (!row) return null;
    if (row.fineTunedModel)
      return { baseModelId: row.fineTunedModel.baseModelId, fineTunedModelId: row.fineTunedModel.id };
    return row.baseModelId ? { baseModelId: row.baseModelId } : null;
  }

  /** deploying → (load, pin, health check) → running | failed. */
  async function start(deploymentId: string): Promise<'running' | 'failed'> {
    const db = getPrisma();
    await db.deployment.update({
      where: { id: deploymentId },
      data: { status: 'deploying', workerId: o.workerId, errorCode: null, errorMessage: null, stoppedAt: null },
    });
    try {
      const target = await targetOf(deploymentId);
      if (!target) throw Object.assign(new Error('The deployment names no model.'), { code: 'model_not_found' });
      await o.engine.pin(target, pinKey(deploymentId));
      const probe = await o.engine.generate(target, { kind: 'completion', prompt: 'Hi', maxTokens: 1, temperature: 0 });
      if (probe.promptTokens < 1) throw new Error('the health check produced no tokens');
      deployments.add(deploymentId);
      await db.deployment.update({
        where: { id: deploymentId },
        data: { status: 'running', startedAt: new Date(), endpoint: o.url, workerId: o.workerId },
      });
      log(`deployment ${deploymentId} running`);
      await publish().catch(() => {});
      return 'running';
    } catch (error) {
      await o.engine.unpin(pinKey(deploymentId)).catch(() => {});
      const code = (error as { code?: string }).code ?? 'load_failed';
      await db.deployment.update({
        where: { id: deploymentId },
        data: {
          status: 'failed',
          errorCode: String(code).slice(0, 64),
          errorMessage: `The model could not be loaded: ${(error as Error).message}`.slice(0, 1000),
          workerId: null,
          endpoint: null,
        },
      });
      log(`deployment ${deploymentId} failed: ${(error as Error).message}`);
      throw error;
    }
  }

  async function release(deploymentId: string) {
    deployments.delete(deploymentId);
    await o.engine.unpin(pinKey(deploymentId));
    await publish().catch(() => {});
  }

  /** A worker restart loses no deployment: it starts every one the database says should run. */
  async function reload() {
    const rows = await getPrisma().deployment.findMany({
      where: { status: { in: ['running', 'deploying'] } },
      select: { id: true },
      orderBy: { createdAt: 'asc' },
    });
    for (const r of rows) await start(r.id).catch(() => {});
    return rows.length;
  }

  /** Lets go of deployments the database says are no longer running here (stopped by another worker's job). */
  async function reconcile() {
    if (deployments.size === 0) return;
    const rows = await getPrisma().deployment.findMany({
      where: { id: { in: [...deployments] } },
      select: { id: true, status: true },
    });
    const live = new Set(rows.filter((r) => r.status === 'running' || r.status === 'deploying').map((r) => r.id));
    for (const id of [...deployments]) if (!live.has(id)) await release(id);
  }

  return {
    workerId: o.workerId,
    url: o.url,
    engine: o.engine,
    start,
    release,
    reload,
    publish,
    beginHeartbeat() {
      const tick = () =>
        reconcile()
          .then(publish)
          .catch((e) => log(`registry update failed: ${(e as Error).message}`));
      void tick();
      timer = setInterval(tick, 5_000);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      await o.redis.del(registryKey(o.prefix, o.workerId)).catch(() => {});
    },
  };
}
