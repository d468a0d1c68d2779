import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { getRedisConnection } from './connection';
import { QUEUE_DEFAULTS } from './constants';
import { loadJobsEnv } from './env';

/**
 * Worker heartbeats: `${REDIS_PREFIX}:heartbeat:{kind}:{workerId}` holds this JSON with a TTL (30 s). A live
 * worker rewrites it every 10 s; a dead one simply expires, so the health route needs no cleanup to be right.
 */
export const ZWorkerHeartbeat = z.object({
  kind: z.string(),
  workerId: z.string(),
  queue: z.string(),
  pid: z.number().int(),
  hostname: z.string(),
  status: z.enum(['running', 'stopping']),
  concurrency: z.number().int(),
  activeJobs: z.array(z.string()),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** How often this worker rewrites its heartbeat (older entries lack it: the default applies). */
  intervalMs: z.number().int().positive().optional(),
  /** Memory this worker's process may use (the machine's, or its container's limit when lower): what fits where. */
  memoryBytes: z.number().int().positive().optional(),
});
export type TWorkerHeartbeat = z.infer<typeof ZWorkerHeartbeat>;

export type TBeatWithState = TWorkerHeartbeat & { ageMs: number; state: 'running' | 'stopping' | 'unresponsive' };

export const heartbeatKey = (prefix: string, kind: string, workerId: string) =>
  `${prefix}:heartbeat:${kind}:${workerId}`;

export async function writeHeartbeat(
  redis: Redis,
  prefix: string,
  beat: TWorkerHeartbeat,
  ttlSec: number,
): Promise<void> {
  await redis.set(heartbeatKey(prefix, beat.kind, beat.workerId), JSON.stringify(beat), 'EX', ttlSec);
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * A heartbeat not rewritten for two intervals belongs to a worker that died without removing it (kill -9, out of
 * memory) or hangs: it is `unresponsive`, never `running`, although the key lives on until its TTL.
 */
export function heartbeatState(beat: TWorkerHeartbeat, ageMs: number): TWorkerHeartbeat['status'] | 'unresponsive' {
  const interval = beat.intervalMs ?? QUEUE_DEFAULTS.heartbeat.intervalMs;
  return ageMs > 2 * interval ? 'unresponsive' : beat.status;
}

/** Every worker's last heartbeat, with its age and state, sorted by kind then id. For GET /api/health. */
export async function readWorkerHeartbeats(
  options: { prefix?: string; redis?: Redis; kind?: string; timeoutMs?: number } = {},
): Promise<TBeatWithState[]> {
  // The shared connection retries forever while Redis is away (BullMQ needs that); a health probe must not
  // hang with it, so the read is bounded.
  const timeoutMs = options.timeoutMs ?? 3_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([readBeats(options), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBeats(options: { prefix?: string; redis?: Redis; kind?: string }) {
  const redis = options.redis ?? getRedisConnection();
  const prefix = options.prefix ?? loadJobsEnv().REDIS_PREFIX;
  const match = `${escapeGlob(prefix)}:heartbeat:${options.kind ? `${escapeGlob(options.kind)}:` : ''}*`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const now = Date.now();
  const beats: TBeatWithState[] = [];
  for (const value of values) {
    if (!value) continue; // expired between SCAN and MGET
    const parsed = ZWorkerHeartbeat.safeParse(JSON.parse(value));
    if (!parsed.success) continue;
    const ageMs = Math.max(0, now - Date.parse(parsed.data.updatedAt));
    beats.push({ ...parsed.data, ageMs, state: heartbeatState(parsed.data, ageMs) });
  }
  return beats.sort((a, b) => a.kind.localeCompare(b.kind) || a.workerId.localeCompare(b.workerId));
}

/**
 * Whether `pid` on this machine is gone. Only answers for this host's own processes (another host's PIDs mean
 * nothing here): false for any other host, for our own PID, and when the signal check is not allowed (EPERM: the
 * process exists).
 */
export function isDeadLocalProcess(host: string, pid: number): boolean {
  if (host !== hostname() || pid === process.pid || !(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the heartbeats of this host's workers of `kind` whose process is gone (a worker killed with -9 and now
 * restarted by `npm start`): the health route then shows the restarted worker, not a dead one beside it, at once
 * instead of after the TTL. Returns how many it removed.
 */
export async function forgetDeadLocalWorkers(redis: Redis, prefix: string, kind: string): Promise<number> {
  const beats = await readBeats({ prefix, redis, kind });
  const dead = beats.filter((b) => isDeadLocalProcess(b.hostname, b.pid));
  if (dead.length) await redis.del(...dead.map((b) => heartbeatKey(prefix, b.kind, b.workerId)));
  return dead.length;
}
