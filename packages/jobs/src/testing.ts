import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** For tests (`@crucible/jobs/testing`): a Redis key prefix of their own, and its removal afterwards. */

/** A key prefix nobody else uses: every test gets its own queues, heartbeats and registry. */
export const uniquePrefix = () => `crucible-test-${randomUUID().slice(0, 12)}`;

/** Deletes every key under the prefix. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
