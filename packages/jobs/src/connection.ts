import { Redis, type RedisOptions } from 'ioredis';
import { loadJobsEnv } from './env';

/**
 * A new ioredis connection for REDIS_URL. `maxRetriesPerRequest: null` is what BullMQ requires for worker
 * connections: its blocking commands must wait through a reconnect instead of failing after 20 retries.
 */
export function createRedisConnection(url: string = loadJobsEnv().REDIS_URL, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, ...options });
  // An EventEmitter 'error' with no listener throws and kills the process; a Redis restart should only log
  // (ioredis reconnects by itself).
  redis.on('error', (error) => console.error(`[redis] ${error.message}`));
  return redis;
}

let shared: Redis | null = null;

/** The process-wide connection for enqueueing and reading heartbeats (the console, the CLI). */
export function getRedisConnection(): Redis {
  shared ??= createRedisConnection();
  return shared;
}

/** Closes the shared connection (tests, CLI exit). Idempotent. */
export async function closeRedisConnection(): Promise<void> {
  const redis = shared;
  shared = null;
  if (redis) await redis.quit().catch(() => redis.disconnect());
}
