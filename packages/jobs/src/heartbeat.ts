import type { Redis } from 'ioredis';
import { z } from 'zod';
import { getRedisConnection } from './connection';
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
});
export type TWorkerHeartbeat = z.infer<typeof ZWorkerHeartbeat>;

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

/** Every live worker's last heartbeat, with its age, sorted by kind then id. For GET /api/health. */
export async function readWorkerHeartbeats(
  options: { prefix?: string; redis?: Redis; kind?: string; timeoutMs?: number } = {},
): Promise<(TWorkerHeartbeat & { ageMs: number })[]> {
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
  const beats: (TWorkerHeartbeat & { ageMs: number })[] = [];
  for (const value of values) {
    if (!value) continue; // expired between SCAN and MGET
    const parsed = ZWorkerHeartbeat.safeParse(JSON.parse(value));
    if (parsed.success) beats.push({ ...parsed.data, ageMs: Math.max(0, now - Date.parse(parsed.data.updatedAt)) });
  }
  return beats.sort((a, b) => a.kind.localeCompare(b.kind) || a.workerId.localeCompare(b.workerId));
}
