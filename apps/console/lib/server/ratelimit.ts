import { getRedisConnection, loadJobsEnv } from '@crucible/jobs';
import { z } from 'zod';
import { GatewayError } from './errors';

const int = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : Number(v)))
    .pipe(z.number().int().min(0));

/** GATEWAY_RATE_LIMIT requests per key per GATEWAY_RATE_WINDOW_S seconds (0 = no limit). */
export const ZGatewayEnv = z.object({ GATEWAY_RATE_LIMIT: int(600), GATEWAY_RATE_WINDOW_S: int(60) });

export function readGatewayEnv(env: Record<string, string | undefined> = process.env) {
  const parsed = ZGatewayEnv.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid gateway configuration: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  }
  return { limit: parsed.data.GATEWAY_RATE_LIMIT, windowS: Math.max(1, parsed.data.GATEWAY_RATE_WINDOW_S) };
}

/**
 * Fixed-window counter in Redis (`${REDIS_PREFIX}:ratelimit:{who}:{window}`): one INCR per request, the key expires
 * with its window. Over the limit → 429 with Retry-After = seconds until the window ends.
 */
export async function checkRateLimit(
  who: string,
): Promise<{ limit: number; remaining: number; resetS: number } | null> {
  const { limit, windowS } = readGatewayEnv();
  if (limit === 0) return null;
  const now = Date.now();
  const window = Math.floor(now / (windowS * 1000));
  const key = `${loadJobsEnv().REDIS_PREFIX}:ratelimit:${who}:${window}`;
  const redis = getRedisConnection();
  const [[, count]] = (await redis
    .multi()
    .incr(key)
    .expire(key, windowS + 1)
    .exec()) as [[null, number], unknown];
  const resetS = Math.max(1, Math.ceil(((window + 1) * windowS * 1000 - now) / 1000));
  if (count > limit) {
    throw new GatewayError(
      429,
      'requests',
      'rate_limit_exceeded',
      `Rate limit reached: ${limit} requests per ${windowS} s for this key. Try again in ${resetS} s.`,
      null,
      {
        'retry-after': String(resetS),
        'x-ratelimit-limit-requests': String(limit),
        'x-ratelimit-remaining-requests': '0',
      },
    );
  }
  return { limit, remaining: limit - count, resetS };
}
