import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { StorageError } from './errors';

// Empty strings count as unset: `.env` files and compose files often write `S3_ENDPOINT=`.
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const ZStorageEnv = z
  .object({
    STORAGE_DRIVER: optionalString.pipe(z.enum(['s3', 'local']).optional()),
    STORAGE_DIR: optionalString,
    S3_ENDPOINT: optionalString.pipe(
      z.url({ error: 'S3_ENDPOINT must be a URL such as http://127.0.0.1:7480' }).optional(),
    ),
    // Optional: where browsers reach the same server when S3_ENDPOINT is an internal name (docker-compose:
    // http://minio:9000 inside, http://localhost:9000 outside). Presigned URLs are signed for this host.
    S3_PUBLIC_ENDPOINT: optionalString.pipe(
      z.url({ error: 'S3_PUBLIC_ENDPOINT must be a URL such as http://localhost:9000' }).optional(),
    ),
    S3_REGION: optionalString.transform((v) => v ?? 'us-east-1'),
    S3_ACCESS_KEY: optionalString,
    S3_SECRET_KEY: optionalString,
    S3_BUCKET: optionalString.transform((v) => v ?? 'crucible'),
    BETTER_AUTH_SECRET: optionalString,
    APP_URL: optionalString
      .transform((v) => v ?? 'http://localhost:3000')
      .pipe(z.url({ error: 'APP_URL must be a URL such as http://localhost:3000' })),
    // Optional: the origin local-driver links point at, so stored files are served from an origin other than the
    // console's (a second host name for the same server). Default: APP_URL.
    STORAGE_PUBLIC_URL: optionalString.pipe(
      z.url({ error: 'STORAGE_PUBLIC_URL must be a URL such as http://files.localhost:3000' }).optional(),
    ),
    NODE_ENV: optionalString,
  })
  .superRefine((env, ctx) => {
    const driver = env.STORAGE_DRIVER ?? (env.S3_ENDPOINT ? 's3' : 'local');
    if (driver !== 's3') return;
    for (const name of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const) {
      if (!env[name])
        ctx.addIssue({ code: 'custom', path: [name], message: `${name} is required when STORAGE_DRIVER is s3` });
    }
  });

export type TStorageConfig =
  | { driver: 'local'; root: string; signingSecret: string; publicUrl: string }
  | {
      driver: 's3';
      endpoint: string;
      /** Host that presigned URLs are signed for (browsers); default: endpoint. */
      publicEndpoint?: string;
      region: string;
      accessKey: string;
      secretKey: string;
      bucket: string;
      /** Origins browsers upload from (the console's APP_URL): the bucket's CORS rule names them. */
      corsOrigins: string[];
    };

/** The repository root: the nearest folder upwards whose package.json declares workspaces. */
export function findRepoRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).workspaces) return dir;
      } catch {
        // an unreadable package.json is not the root; keep climbing
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return resolve(from);
    dir = parent;
  }
}

/**
 * Without BETTER_AUTH_SECRET (a development run outside `npm start`, which persists one in .data/secret) the links
 * are signed with a random secret that lives as long as this process: nothing that ships signs with a known value
 * (issue 11, finding 2: a constant from the source let anyone forge a link to any object).
 */
let processSecret: string | null = null;

/** Validates the storage env once; a wrong setting fails with a sentence naming the variable. */
export function loadStorageConfig(env: Record<string, string | undefined> = process.env): TStorageConfig {
  const parsed = ZStorageEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`);
    throw new StorageError('config_invalid', `Invalid storage configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const driver = e.STORAGE_DRIVER ?? (e.S3_ENDPOINT ? 's3' : 'local');
  if (driver === 's3') {
    return {
      driver,
      endpoint: e.S3_ENDPOINT as string,
      publicEndpoint: e.S3_PUBLIC_ENDPOINT,
      region: e.S3_REGION,
      accessKey: e.S3_ACCESS_KEY as string,
      secretKey: e.S3_SECRET_KEY as string,
      bucket: e.S3_BUCKET,
      corsOrigins: [new URL(e.APP_URL).origin],
    };
  }
  if (!e.BETTER_AUTH_SECRET && e.NODE_ENV === 'production') {
    throw new StorageError(
      'config_invalid',
      'BETTER_AUTH_SECRET is required in production: it signs storage links (npm start keeps one in .data/secret; elsewhere set it to a long random string, e.g. openssl rand -base64 32).',
    );
  }
  processSecret ??= randomBytes(32).toString('base64url');
  return {
    driver,
    root: resolve(e.STORAGE_DIR ?? join(findRepoRoot(), '.data', 'storage')),
    signingSecret: e.BETTER_AUTH_SECRET ?? processSecret,
    publicUrl: (e.STORAGE_PUBLIC_URL ?? e.APP_URL).replace(/\/+$/, ''),
  };
}
