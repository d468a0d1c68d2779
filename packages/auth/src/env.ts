import { z } from 'zod';

/**
 * The settings this package reads, validated once. A development secret is
 * allowed so that `npm start` works on a fresh machine, with a warning: a real
 * deployment must set BETTER_AUTH_SECRET or anyone could forge session cookies.
 */
export const DEV_SECRET = 'crucible-dev-secret-change-me-in-production-0123456789';

export const ZAuthEnv = z.object({
  BETTER_AUTH_SECRET: z
    .string()
    .min(32, 'BETTER_AUTH_SECRET must be at least 32 characters (try: openssl rand -base64 32)')
    .default(DEV_SECRET),
  APP_URL: z.url('APP_URL must be a URL such as http://localhost:3000').default('http://localhost:3000'),
});
export type TAuthEnv = z.infer<typeof ZAuthEnv>;

let warned = false;

export function readAuthEnv(env: NodeJS.ProcessEnv = process.env): TAuthEnv {
  const parsed = ZAuthEnv.safeParse({
    BETTER_AUTH_SECRET: env.BETTER_AUTH_SECRET || undefined,
    APP_URL: env.APP_URL || undefined,
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`Invalid auth configuration: ${first?.path.join('.')}: ${first?.message}`);
  }
  if (parsed.data.BETTER_AUTH_SECRET === DEV_SECRET && !warned && env.NODE_ENV !== 'test') {
    warned = true;
    console.warn('[auth] BETTER_AUTH_SECRET is not set: using the development secret. Set it in production.');
  }
  return parsed.data;
}
