import { readWorkerHeartbeats } from '@crucible/jobs';
import { createStorage, type Storage } from '@crucible/storage';
import { Redis } from 'ioredis';
import type { TWorkerStatus } from './routes/health';

/**
 * The real probes behind GET /api/health, apart from the route so tests can
 * point one at a dead address (a real failed connection, not a stub).
 */

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A PING over a fresh connection: a cached client would report "ok" from before Redis went away. */
export function redisCheckFor(url: string): () => Promise<void> {
  return async () => {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 1500,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    // Without a listener ioredis prints every connection error as "Unhandled error event".
    redis.on('error', () => {});
    try {
      await redis.connect();
      const pong = await redis.ping();
      if (pong !== 'PONG') throw new Error(`unexpected PING answer ${pong}`);
    } finally {
      redis.disconnect();
    }
  };
}

export async function pingRedis(): Promise<void> {
  await redisCheckFor(process.env.REDIS_URL || DEFAULT_REDIS_URL)();
}

let storage: Storage | undefined;

export async function checkStorage(): Promise<void> {
  storage ??= createStorage();
  const health = await storage.health();
  if (!health.ok) throw new Error(`${health.driver}: ${health.detail}`);
}

/** Live workers: heartbeats at `${REDIS_PREFIX}:heartbeat:{kind}:{workerId}` (TTL 30 s), newest state each. */
export async function readHeartbeats(): Promise<TWorkerStatus[]> {
  return readWorkerHeartbeats();
}
