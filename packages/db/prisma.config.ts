/**
 * Prisma CLI configuration, and every workaround that lets Prisma 6.19.3 migrate with no network.
 *
 * Prisma's CLI normally downloads a native schema engine. These machines reach only the npm registry, so we use the
 * WebAssembly schema engine that ships inside the `prisma` package: `engine: 'js'` plus a driver adapter
 * (`@prisma/adapter-pg`). That path needs the fixes below, found by trying (ENVIRONMENT.md, "Prisma — the one trap").
 * Keep them all in this file; call the CLI only through packages/db's npm scripts (scripts/prisma.mjs), which also
 * point PRISMA_SCHEMA_ENGINE_BINARY / PRISMA_QUERY_ENGINE_LIBRARY at existing files so nothing is downloaded.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { defineConfig } from 'prisma/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/crucible';
process.env.DATABASE_URL ||= DEFAULT_DATABASE_URL;

/**
 * Fix 2: with a `connectionString`, adapter-pg's shadow database spreads `{ ...config, database }`, but the
 * connection string wins, so the "shadow" connects to the main database (P3006 "relation already exists").
 * Separate host/port/user/password/database fields make `database` effective.
 * Fix 4 (first half): the CLI lingers ~10 s after finishing while idle pg clients keep the event loop alive:
 * `allowExitOnIdle`.
 */
function poolConfig(url: string, database?: string): pg.PoolConfig {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: database ?? decodeURIComponent(u.pathname.replace(/^\//, '')),
    allowExitOnIdle: true,
    max: 4,
  };
}

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;
type Result = { fields?: { dataTypeID: number }[] };
type Queryable = { performIO?: (q: unknown) => Promise<Result | Result[]> };

/**
 * Fix 1: the schema engine introspects pg_catalog columns of type `name` (oid 19) and `"char"` (oid 18); adapter-pg
 * refuses them ("Column type 'name' could not be deserialized", prisma/orm#27403).
 * pg already parses both as strings, so we report them as `text` (oid 25), on the adapter and on its transactions.
 */
function reportNameAndCharAsText<T extends object>(queryable: T): T {
  const q = queryable as unknown as Queryable;
  const performIO = q.performIO;
  if (!performIO)
    throw new Error('adapter-pg internals changed: performIO is gone; revisit packages/db/prisma.config.ts');
  q.performIO = async (query: unknown) => {
    const result = await performIO.call(queryable, query);
    // A migration applied with executeRaw is a multi-statement script: pg returns one result per statement. Missing
    // this made the shadow database fail with P3006 "External error id#0".
    for (const one of Array.isArray(result) ? result : [result]) {
      for (const field of one.fields ?? [])
        if (field.dataTypeID === 19 || field.dataTypeID === 18) field.dataTypeID = 25;
    }
    return result;
  };
  return queryable;
}

function patchAdapter(adapter: Adapter): Adapter {
  reportNameAndCharAsText(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => reportNameAndCharAsText(await startTransaction(isolationLevel));
  /**
   * Fix 5 (found here): adapter-pg's executeScript splits a script on every ";", which breaks function bodies
   * ($$ ... $$) such as our ledger triggers. Postgres runs a multi-statement script as one simple query.
   */
  adapter.executeScript = async (script: string) => {
    const pool = adapter.underlyingDriver();
    try {
      await pool.query(script);
    } catch (error) {
      // same error shape the engine expects from adapter-pg
      (adapter as unknown as { onError(e: unknown): never }).onError(error);
    }
  };
  return adapter;
}

async function withAdminClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(poolConfig(url, 'postgres'));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Like the native engine, create the target database when it does not exist yet (fresh machine, `npm start`). */
async function ensureDatabase(url: string): Promise<void> {
  const database = poolConfig(url).database as string;
  await withAdminClient(url, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount)
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently: fine
      });
  });
}

function offlineAdapterFactory(
  url: string,
): Pick<PrismaPg, 'provider' | 'adapterName' | 'connect' | 'connectToShadowDb'> {
  const main = new PrismaPg(poolConfig(url));
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    async connect() {
      await ensureDatabase(url);
      return patchAdapter(await main.connect());
    },
    /**
     * Fix 3: adapter-pg drops the shadow database while its own pool still holds connections ("being accessed by
     * other users"). We close the pool first, then `DROP DATABASE ... WITH (FORCE)`.
     */
    async connectToShadowDb() {
      const database = `prisma_shadow_${crypto.randomUUID().replace(/-/g, '')}`;
      await withAdminClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(database)}`));
      const adapter = patchAdapter(await new PrismaPg(poolConfig(url, database)).connect());
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose();
        await withAdminClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
      };
      return adapter;
    },
  };
}

/**
 * Fix 4 (second half): the wasm schema engine leaves 60 s timers behind, so the CLI would wait a minute after its
 * work is done. Long timers created in this CLI process must not keep it alive.
 */
const setTimeoutOriginal = globalThis.setTimeout;
globalThis.setTimeout = ((handler: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = setTimeoutOriginal(handler, ms, ...args);
  if ((ms ?? 0) >= 5_000) timer.unref?.();
  return timer;
}) as typeof setTimeout;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(here, '../../prisma/schema.prisma'),
  migrations: { path: path.join(here, '../../prisma/migrations') },
  adapter: async () => offlineAdapterFactory(process.env.DATABASE_URL as string),
});
