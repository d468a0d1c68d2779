import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The settings this package reads, validated once. No secret ships with the source (issue 11, finding 2: a constant
 * default let anyone who read it forge sessions and storage links): `npm start` generates one on first start and
 * keeps it in .data/secret (mode 0600, scripts/lib.mjs ensureSecret) and hands it to every process; docker-compose
 * requires it. In production (NODE_ENV=production) a missing secret refuses to start; elsewhere (`next dev`, tests,
 * the CLI) a random secret is made for this process, so its sessions end with it.
 */
export const ZAuthEnv = z.object({
  BETTER_AUTH_SECRET: z
    .string()
    .min(32, 'BETTER_AUTH_SECRET must be at least 32 characters (try: openssl rand -base64 32)')
    .optional(),
  APP_URL: z.url('APP_URL must be a URL such as http://localhost:3000').default('http://localhost:3000'),
});
export type TAuthEnv = { BETTER_AUTH_SECRET: string; APP_URL: string };

let processSecret: string | null = null;

export function readAuthEnv(env: NodeJS.ProcessEnv = process.env): TAuthEnv {
  const parsed = ZAuthEnv.safeParse({
    BETTER_AUTH_SECRET: env.BETTER_AUTH_SECRET || undefined,
    APP_URL: env.APP_URL || undefined,
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`Invalid auth configuration: ${first?.path.join('.')}: ${first?.message}`);
  }
  const secret = parsed.data.BETTER_AUTH_SECRET;
  if (!secret && env.NODE_ENV === 'production') {
    throw new Error(
      'BETTER_AUTH_SECRET is required in production: it signs sessions (npm start keeps one in .data/secret; elsewhere set it to a long random string, e.g. openssl rand -base64 32).',
    );
  }
  processSecret ??= randomBytes(32).toString('base64url');
  return { BETTER_AUTH_SECRET: secret ?? processSecret, APP_URL: parsed.data.APP_URL };
}
