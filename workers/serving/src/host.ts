import { settleDeploymentRun } from '@crucible/billing';
import { getPrisma, type Prisma, refreshDeploymentStatus, replicasPerWorker, resetReplicas } from '@crucible/db';
import { isDeadLocalProcess } from '@crucible/jobs';
import type { Redis } from 'ioredis';
import type { TEngine, TTarget } from './engine';

/**
 * What this process serves, as seen by the rest of the system, and the replicas of dedicated deployments.
 *
 * - The Redis registry `${REDIS_PREFIX}:serving:{workerId}` → `{workerId, url, bases, adapters, deployments,
 *   replicas, busy}` (TTL `registryTtlS`, refreshed every `heartbeatMs`), which the console reads to route requests.
 *   A worker whose entry expired is gone (it died, or hung so long it stopped refreshing).
 * - Replicas: a deployment's `DeploymentReplica` rows say which worker holds each replica. Starting a deployment
 *   places its replicas on the live workers, fewest replicas first (several on one worker become sequences of one
 *   context there). Every worker reconciles on each heartbeat and when nudged over Redis pub/sub: it loads the
 *   replicas placed on it, lets go of those it no longer holds (stopped, or placed elsewhere), adopts replicas of
 *   workers whose registry entry expired (fail-over; a restarted worker adopts its own old ones this way), and
 *   health-checks what it holds every `healthEveryMs` with a one-token generation. A replica failing its check is
 *   unhealthy (the console routes around it); after `maxHealthFailures` in a row its context is reopened, and a
 *   replica that cannot be reopened fails.
 * - The deployment's own status follows from its replicas (packages/db refreshDeploymentStatus).
 */

export type TServingHostOptions = {
  engine: TEngine;
  redis: Redis;
  prefix: string;
  workerId: string;
  url: string;
  log?: (m: string) => void;
  /** registry refresh and reconcile interval */
  heartbeatMs?: number;
  /** a worker whose entry is older than this is gone; its replicas are adopted by others */
  registryTtlS?: number;
  healthEveryMs?: number;
  healthTimeoutMs?: number;
  maxHealthFailures?: number;
  /** how long a start waits for its replicas to be loaded (on any worker) before answering */
  startTimeoutMs?: number;
};

export const REGISTRY_TTL_S = 30;
export const registryKey = (prefix: string, workerId: string) => `${prefix}:serving:${workerId}`;
const nudgeChannel = (prefix: string) => `${prefix}:serving-nudge`;

export type TRegistryEntry = {
  workerId: string;
  url: string;
  bases: string[];
  adapters: string[];
  /** deployments with at least one ready replica here */
  deployments: string[];
  /** ready replicas here, per deployment */
  replicas: Record<string, number>;
  /** requests running or waiting here */
  busy: number;
  updatedAt: string;
  /** how often this entry is refreshed: one much older than that belongs to a worker that hangs */
  heartbeatMs: number;
};

export type TServingHost = ReturnType<typeof createServingHost>;

let current: TServingHost | null = null;
/** The host of this process (the deployments job handler runs beside it). */
export const getServingHost = () => current;
export const setServingHost = (h: TServingHost | null) => {
  current = h;
};

const pinKey = (deploymentId: string) => `deployment:${deploymentId}`;
const ACTIVE = ['deploying', 'running'] as const;

type TReplicaRow = {
  id: string;
  deploymentId: string;
  status: string;
  lastHealthAt: Date | null;
  healthFailures: number;
};

/** A deployment this worker holds replicas of. */
type TLocal = { target: TTarget; sequences: number; contextSize: number };

const errorCodeOf = (error: unknown) => String((error as { code?: string }).code ?? 'load_failed').slice(0, 64);
const messageOf = (error: unknown) => `${(error as Error).message}`.slice(0, 1000);

export function createServingHost(o: TServingHostOptions) {
  const log = o.log ?? (() => {});
  const heartbeatMs = o.heartbeatMs ?? 5_000;
  const ttl = o.registryTtlS ?? REGISTRY_TTL_S;
  const healthEveryMs = o.healthEveryMs ?? 30_000;
  const healthTimeoutMs = o.healthTimeoutMs ?? 30_000;
  const maxFailures = o.maxHealthFailures ?? 3;
  const local = new Map<string, TLocal>();
  let timer: NodeJS.Timeout | null = null;
  let subscriber: Redis | null = null;
  let closed = false;
  const db = () => getPrisma();

  async function entry(): Promise<TRegistryEntry> {
    const held = await o.engine.holdings();
    const ready = await db().deploymentReplica.groupBy({
      by: ['deploymentId'],
      where: { workerId: o.workerId, status: 'ready', deploymentId: { in: [...local.keys()] } },
      _count: { _all: true },
    });
    const replicas = Object.fromEntries(ready.map((r) => [r.deploymentId, r._count._all]));
    return {
      workerId: o.workerId,
      url: o.url,
      bases: held.bases,
      adapters: held.adapters,
      deployments: Object.keys(replicas),
      replicas,
      busy: held.busy,
      updatedAt: new Date().toISOString(),
      heartbeatMs,
    };
  }

  async function publish() {
    if (closed) return;
    await o.redis.set(registryKey(o.prefix, o.workerId), JSON.stringify(await entry()), 'EX', ttl);
  }

  /**
   * Worker ids with a registry entry (this one included once it has published). The entry of a worker on this
   * host whose process is gone (killed with -9, then restarted by `npm start` as a new worker) is removed here, so
   * its replicas are adopted now rather than after the entry's TTL, and the console stops routing to it.
   */
  async function liveWorkers(): Promise<Set<string>> {
    const live = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await o.redis.scan(cursor, 'MATCH', `${o.prefix}:serving:*`, 'COUNT', 200);
      cursor = next;
      for (const k of keys) {
        const id = k.slice(`${o.prefix}:serving:`.length);
        const own = /^(.*)-(\d+)-[0-9a-f]{8}$/.exec(id); // workers/serving/src/main.ts: host-pid-uuid8
        if (own && isDeadLocalProcess(own[1], Number(own[2]))) {
          await o.redis.del(k);
          log(`worker ${id} on this host is gone; its registry entry is removed`);
          continue;
        }
        live.add(id);
      }
    } while (cursor !== '0');
    return live;
  }

  async function targetOf(deploymentId: string): Promise<{ target: TTarget | null; contextSize: number } | null> {
    const row = await db().deployment.findUnique({
      where: { id: deploymentId },
      select: { contextSize: true, baseModelId: true, fineTunedModel: { select: { id: true, baseModelId: true } } },
    });
    if (!row) return null;
    const target = row.fineTunedModel
      ? { baseModelId: row.fineTunedModel.baseModelId, fineTunedModelId: row.fineTunedModel.id }
      : row.baseModelId
        ? { baseModelId: row.baseModelId }
        : null;
    return { target, contextSize: row.contextSize };
  }

  const setReplicas = (ids: string[], data: Prisma.DeploymentReplicaUpdateManyMutationInput) =>
    ids.length
      ? db().deploymentReplica.updateMany({ where: { id: { in: ids }, workerId: o.workerId }, data })
      : Promise.resolve({ count: 0 });

  /** Loads (or resizes) what a deployment needs here; records its replicas ready, or failed with why. */
  async function hold(deploymentId: string, rows: TReplicaRow[]) {
    const found = await targetOf(deploymentId);
    const ids = rows.map((r) => r.id);
    if (!found?.target) {
      await setReplicas(ids, {
        status: 'failed',
        errorCode: 'model_not_found',
        errorMessage: 'The deployment names no model.',
      });
      return;
    }
    const want = { target: found.target, sequences: rows.length, contextSize: found.contextSize };
    const have = local.get(deploymentId);
    const fresh = rows.filter((r) => r.status === 'pending' || r.status === 'loading').map((r) => r.id);
    if (have && have.sequences === want.sequences && have.contextSize === want.contextSize && !fresh.length) return;
    await setReplicas(fresh, { status: 'loading', endpoint: o.url });
    try {
      await o.engine.pin(want.target, pinKey(deploymentId), {
        sequences: want.sequences,
        contextSize: want.contextSize,
      });
      // Loading is not serving: the first request must work, so a replica is ready only after one token.
      await o.engine.probe(want.target, healthTimeoutMs);
      local.set(deploymentId, want);
      const now = new Date();
      await setReplicas(fresh, {
        status: 'ready',
        startedAt: now,
        lastHealthAt: now,
        healthFailures: 0,
        endpoint: o.url,
      });
      log(`deployment ${deploymentId}: ${rows.length} replica(s) ready here`);
    } catch (error) {
      if (!have) {
        await o.engine.unpin(pinKey(deploymentId)).catch(() => {});
        local.delete(deploymentId);
      }
      await setReplicas(fresh.length ? fresh : ids, {
        status: 'failed',
        errorCode: errorCodeOf(error),
        errorMessage: `The model could not be loaded: ${messageOf(error)}`.slice(0, 1000),
      });
      log(`deployment ${deploymentId} failed here: ${messageOf(error)}`);
    }
  }

  async function release(deploymentId: string) {
    if (!local.delete(deploymentId)) return;
    await o.engine.unpin(pinKey(deploymentId));
    log(`deployment ${deploymentId} released here`);
  }

  const HEALTHY = () =>
    ({ status: 'ready', lastHealthAt: new Date(), healthFailures: 0, errorCode: null, errorMessage: null }) as const;

  /** Health check of one deployment held here: all its replicas share one context, so one probe tests them all. */
  async function check(deploymentId: string, rows: TReplicaRow[]) {
    const held = local.get(deploymentId);
    if (!held) return;
    const serving = rows.filter((r) => r.status === 'ready' || r.status === 'unhealthy');
    const due = serving.some((r) => !r.lastHealthAt || Date.now() - r.lastHealthAt.getTime() >= healthEveryMs);
    if (!serving.length || !due) return;
    const ids = serving.map((r) => r.id);
    try {
      await o.engine.probe(held.target, healthTimeoutMs);
      await setReplicas(ids, HEALTHY());
      return;
    } catch (error) {
      const failures = Math.max(...serving.map((r) => r.healthFailures)) + 1;
      log(`deployment ${deploymentId}: health check ${failures} failed: ${messageOf(error)}`);
      if (failures < maxFailures) {
        await setReplicas(ids, {
          status: 'unhealthy',
          lastHealthAt: new Date(),
          healthFailures: failures,
          errorCode: 'health_check_failed',
          errorMessage: `Health check failed: ${messageOf(error)}`.slice(0, 1000),
        });
        return;
      }
    }
    // Too many failures in a row: a fresh context, or give up on this replica.
    try {
      await o.engine.reopen(held.target);
      await o.engine.probe(held.target, healthTimeoutMs);
      await setReplicas(ids, HEALTHY());
      log(`deployment ${deploymentId}: reopened after failed health checks`);
    } catch (error) {
      await release(deploymentId);
      await setReplicas(ids, {
        status: 'failed',
        lastHealthAt: new Date(),
        errorCode: 'health_check_failed',
        errorMessage: `Failed ${maxFailures} health checks and could not be reopened: ${messageOf(error)}`.slice(
          0,
          1000,
        ),
      });
    }
  }

  /** Takes over replicas of deployments that should run but whose worker is gone (or that were never placed). */
  async function adoptOrphans(live: Set<string>) {
    const orphans = await db().deploymentReplica.findMany({
      where: {
        status: { not: 'failed' },
        deployment: { status: { in: [...ACTIVE] } },
        OR: [{ workerId: null }, { workerId: { notIn: [...live] } }],
      },
      select: { id: true, workerId: true, deploymentId: true },
      orderBy: [{ deploymentId: 'asc' }, { index: 'asc' }],
    });
    // An owner missing from this prefix's registry may be alive under another prefix sharing this database (a
    // second install, a test): its replicas are not orphans (issue 17).
    const elsewhere = new Set<string>();
    for (const owner of new Set(orphans.map((r) => r.workerId).filter((w): w is string => w !== null))) {
      const pattern = `*:serving:${owner.replace(/[*?[\]\\]/g, '\\$&')}`;
      let cursor = '0';
      do {
        const [next, keys] = await o.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) elsewhere.add(owner);
      } while (cursor !== '0' && !elsewhere.has(owner));
    }
    if (elsewhere.size) orphans.splice(0, orphans.length, ...orphans.filter((r) => !elsewhere.has(r.workerId ?? '')));
    // A fair share each, so the survivors split a dead worker's replicas instead of one taking all.
    const share = Math.ceil(orphans.length / Math.max(1, live.size));
    let taken = 0;
    for (const r of orphans) {
      if (taken >= share) break;
      const { count } = await db().deploymentReplica.updateMany({
        where: { id: r.id, workerId: r.workerId },
        data: { workerId: o.workerId, status: 'pending', endpoint: null, healthFailures: 0 },
      });
      if (count === 1) {
        taken += 1;
        log(`adopted a replica of deployment ${r.deploymentId}${r.workerId ? ` from ${r.workerId}` : ''}`);
      }
    }
  }

  let running: Promise<void> | null = null;
  let again = false;

  async function reconcileOnce() {
    const live = await liveWorkers();
    live.add(o.workerId);
    await adoptOrphans(live);
    const mine = await db().deploymentReplica.findMany({
      where: { workerId: o.workerId, deployment: { status: { in: [...ACTIVE] } }, status: { not: 'failed' } },
      select: { id: true, deploymentId: true, status: true, lastHealthAt: true, healthFailures: true },
    });
    const byDeployment = new Map<string, TReplicaRow[]>();
    for (const r of mine) byDeployment.set(r.deploymentId, [...(byDeployment.get(r.deploymentId) ?? []), r]);
    const touched = new Set<string>([...byDeployment.keys(), ...local.keys()]);
    for (const id of [...local.keys()]) if (!byDeployment.has(id)) await release(id);
    for (const [id, rows] of byDeployment) {
      await hold(id, rows);
      await check(id, rows);
    }
    for (const id of touched) await refreshDeploymentStatus(id);
    await publish();
  }

  /** One reconcile at a time; a call while one runs schedules one more right after it. */
  function reconcile(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await reconcileOnce();
        } while (again && !closed);
      } finally {
        running = null;
      }
    })();
    return running;
  }

  /**
   * A start or restart (the deployment.action job): places every replica on a live worker, fewest replicas first,
   * nudges the others, loads this worker's share, and waits (up to startTimeoutMs) until each replica is ready or
   * failed. Resolves with the deployment's status; rejects, with the first replica's error code, when all failed.
   */
  async function start(deploymentId: string): Promise<'running' | 'deploying' | 'stopped'> {
    // A restart ends the current run: charge its hours (the partial last one by the minute) before its start goes.
    await settleDeploymentRun(deploymentId);
    const row = await db().deployment.update({
      where: { id: deploymentId },
      data: {
        status: 'deploying',
        errorCode: null,
        errorMessage: null,
        stoppedAt: null,
        startedAt: null,
        workerId: null,
        endpoint: null,
      },
      select: { id: true, replicas: true },
    });
    await publish();
    await resetReplicas(row.id, row.replicas);
    const live = [...(await liveWorkers())];
    if (!live.includes(o.workerId)) live.push(o.workerId);
    const load = await replicasPerWorker();
    const replicas = await db().deploymentReplica.findMany({ where: { deploymentId }, orderBy: { index: 'asc' } });
    for (const r of replicas) {
      const w = live.reduce((best, x) => ((load.get(x) ?? 0) < (load.get(best) ?? 0) ? x : best), live[0]);
      load.set(w, (load.get(w) ?? 0) + 1);
      await db().deploymentReplica.update({ where: { id: r.id }, data: { workerId: w } });
    }
    await o.redis.publish(nudgeChannel(o.prefix), deploymentId).catch(() => {});
    await reconcile();
    const deadline = Date.now() + (o.startTimeoutMs ?? 600_000);
    for (;;) {
      const rows = await db().deploymentReplica.findMany({
        where: { deploymentId },
        select: { status: true, errorCode: true, errorMessage: true },
      });
      const settled = rows.every((r) => r.status === 'ready' || r.status === 'failed' || r.status === 'unhealthy');
      if (settled || Date.now() > deadline) {
        await refreshDeploymentStatus(deploymentId);
        const now = await db().deployment.findUnique({ where: { id: deploymentId }, select: { status: true } });
        if (now?.status === 'failed') {
          const first = rows.find((r) => r.status === 'failed');
          throw Object.assign(new Error(first?.errorMessage ?? 'every replica failed'), {
            code: first?.errorCode ?? 'load_failed',
          });
        }
        // running, deploying (timed out waiting for another worker), or stopped while it was starting
        return (now?.status ?? 'stopped') as 'running' | 'deploying' | 'stopped';
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A stop: the replica rows go (every worker lets go of its share on its next reconcile), this worker's at once. */
  async function stop(deploymentId: string) {
    await db().deploymentReplica.deleteMany({ where: { deploymentId } });
    await release(deploymentId);
    await o.redis.publish(nudgeChannel(o.prefix), deploymentId).catch(() => {});
    await publish().catch(() => {});
  }

  return {
    workerId: o.workerId,
    url: o.url,
    engine: o.engine,
    start,
    stop,
    reconcile,
    publish,
    /** Registry refresh + reconcile every heartbeat, and at once when another worker nudges. */
    async beginHeartbeat() {
      const tick = () => reconcile().catch((e) => log(`reconcile failed: ${messageOf(e).split('\n').pop()}`));
      // The registry entry is refreshed on its own beat: a reconcile busy loading a large model for minutes must not
      // let the entry expire, or the other workers would take this one for dead and adopt its replicas.
      const beat = () => {
        void publish().catch((e) => log(`registry update failed: ${messageOf(e)}`));
        void tick();
      };
      await publish().catch((e) => log(`registry update failed: ${messageOf(e)}`));
      void tick();
      timer = setInterval(beat, heartbeatMs);
      timer.unref();
      subscriber = o.redis.duplicate();
      // A lost subscriber only delays reconciles to the next heartbeat; say so instead of crashing.
      subscriber.on('error', (e) => log(`nudge subscription: ${messageOf(e)}`));
      await subscriber.subscribe(nudgeChannel(o.prefix)).catch(() => {});
      subscriber.on('message', () => void tick());
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await subscriber?.quit().catch(() => {});
      await running?.catch(() => {});
      // Leaving the registry at once lets other workers adopt this one's replicas now, not after the TTL.
      await o.redis.del(registryKey(o.prefix, o.workerId)).catch(() => {});
    },
  };
}
