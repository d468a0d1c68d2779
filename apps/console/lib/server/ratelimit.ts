import { getRedisConnection, loadJobsEnv } from '@crucible/jobs';
import { z } from 'zod';
import { AppError } from './errors';

const int = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : Number(v)))
    .pipe(z.number().int().min(0));

/** GATEWAY_RATE_LIMIT requests per key per GATEWAY_RATE_WINDOW_S seconds (0 = no limit). */
const ZGatewayEnv = z.object({ GATEWAY_RATE_LIMIT: int(600), GATEWAY_RATE_WINDOW_S: int(60) });

function readGatewayEnv(env: Record<string, string | undefined> = process.env) {
  const parsed = ZGatewayEnv.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid gateway configuration: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  }
  return { limit: parsed.data.GATEWAY_RATE_LIMIT, windowS: Math.max(1, parsed.data.GATEWAY_RATE_WINDOW_S) };
}

export type TRateLimit = { limit: number; remaining: number; resetS: number };

const redisKey = (who: string) => `${loadJobsEnv().REDIS_PREFIX}:ratelimit:${who}`;

/**
 * Fixed-window counter in Redis (`${REDIS_PREFIX}:ratelimit:{who}:{window}`): one INCR per call, the key expires
 * with its window. Returns the count so far in this window and the seconds until it ends.
 */
async function countInWindow(who: string, windowS: number): Promise<{ count: number; resetS: number }> {
  const now = Date.now();
  const window = Math.floor(now / (windowS * 1000));
  const key = `${redisKey(who)}:${window}`;
  const [[, count]] = (await getRedisConnection()
    .multi()
    .incr(key)
    .expire(key, windowS + 1)
    .exec()) as [[null, number], unknown];
  return { count, resetS: Math.max(1, Math.ceil(((window + 1) * windowS * 1000 - now) / 1000)) };
}

const limited = (message: string, resetS: number, limit: number) =>
  new AppError('rate_limited', message, null, {
    'retry-after': String(resetS),
    'x-ratelimit-limit-requests': String(limit),
    'x-ratelimit-remaining-requests': '0',
  });

/** GATEWAY_RATE_LIMIT requests per GATEWAY_RATE_WINDOW_S for `who` (an API key, or a member in the playground). */
export async function checkRateLimit(who: string): Promise<TRateLimit | null> {
  const { limit, windowS } = readGatewayEnv();
  if (limit === 0) return null;
  const { count, resetS } = await countInWindow(who, windowS);
  if (count > limit) {
    throw limited(
      `Rate limit reached: ${limit} requests per ${windowS} s for this key. Try again in ${resetS} s.`,
      resetS,
      limit,
    );
  }
  return { limit, remaining: limit - count, resetS };
}

/**
 * Sign-in limits (issue 11, finding 7: rotating X-Forwarded-For let one client try passwords forever). Failed
 * attempts are counted per client address (the front door's, see frontdoor.ts: X-Forwarded-For is believed only
 * from TRUSTED_PROXIES) and per account whatever the address, so spreading the guesses over many addresses does
 * not help either; a successful sign-in clears the account's count. Each count runs for its window from its first
 * failure.
 */
const LOGIN_LIMITS = Object.freeze({
  perAddress: { failures: 20, windowS: 300 },
  perAccount: { failures: 5, windowS: 900 },
});

const loginKeys = (address: string, email: string | null) => [
  { key: redisKey(`login-fail-addr:${address}`), ...LOGIN_LIMITS.perAddress, what: 'from this address' },
  ...(email
    ? [
        {
          key: redisKey(`login-fail-acct:${email.trim().toLowerCase()}`),
          ...LOGIN_LIMITS.perAccount,
          what: 'for this account',
        },
      ]
    : []),
];

/** Refuses (429 with Retry-After) while the address or the account is at its limit of failed sign-ins. */
export async function checkLoginAllowed(address: string, email: string | null): Promise<void> {
  const redis = getRedisConnection();
  for (const k of loginKeys(address, email)) {
    const [n, ttl] = await Promise.all([redis.get(k.key), redis.ttl(k.key)]);
    if (Number(n ?? 0) >= k.failures) {
      const wait = Math.max(1, ttl);
      throw limited(`Too many failed sign-ins ${k.what}; try again in ${wait} s.`, wait, k.failures);
    }
  }
}

export async function recordLoginFailure(address: string, email: string | null): Promise<void> {
  const redis = getRedisConnection();
  for (const k of loginKeys(address, email)) {
    if ((await redis.incr(k.key)) === 1) await redis.expire(k.key, k.windowS);
  }
}

export async function clearLoginFailures(email: string): Promise<void> {
  await getRedisConnection().del(redisKey(`login-fail-acct:${email.trim().toLowerCase()}`));
}
