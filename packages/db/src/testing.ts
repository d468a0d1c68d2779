/**
 * Test databases: `createTestDatabase()` gives each test (file) its own fresh, fully migrated Postgres database.
 *
 * Running `prisma migrate deploy` costs ~2 s, so it runs once per change of the migrations: into a template database
 * (`crucible_test_template`) whose comment records the checksum of prisma/migrations. Each test database is then a
 * `CREATE DATABASE ... TEMPLATE crucible_test_template` copy, which takes milliseconds and includes Prisma's
 * `_prisma_migrations` table, so `migrate status` reports it up to date.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { createPrisma } from './client';
import { readDbEnv } from './env';

export const TEMPLATE_DATABASE = 'crucible_test_template';
export const TEST_DATABASE_PREFIX = 'crucible_test_';
const TEMPLATE_LOCK_KEY = 730_241_001; // pg_advisory_lock key: one template build at a time, across processes

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MIGRATIONS_DIR = path.resolve(pkgDir, '../../prisma/migrations');
const PRISMA_RUNNER = path.join(pkgDir, 'scripts/prisma.mjs');

export type TTestDatabase = {
  /** postgresql:// URL of the new database. */
  url: string;
  /** A client connected to it (closed by drop()). */
  prisma: PrismaClient;
  /** Disconnects and drops the database. */
  drop(): Promise<void>;
};

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function databaseUrl(baseUrl: string, database: string): string {
  const u = new URL(baseUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Checksum of every migration (folder names and SQL): the template is rebuilt when it changes. */
export async function migrationsChecksum(dir: string = MIGRATIONS_DIR): Promise<string> {
  const hash = createHash('sha256');
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const name of entries.sort()) {
    hash.update(`${name}\n`);
    hash.update(await readFile(path.join(dir, name, 'migration.sql')));
  }
  return hash.digest('hex');
}

async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl(baseUrl, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs the Prisma CLI (offline, through packages/db/scripts/prisma.mjs) against a database URL. */
export function runPrisma(args: string[], url: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PRISMA_RUNNER, ...args], {
      cwd: pkgDir,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function templateChecksum(client: pg.Client): Promise<string | null> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
    [TEMPLATE_DATABASE],
  );
  const comment = rows[0]?.comment ?? null;
  return comment?.startsWith('migrations:') ? comment.slice('migrations:'.length) : null;
}

/** Makes sure `crucible_test_template` holds the current migrations; rebuilds it (once, under a lock) if not. */
export async function ensureTemplateDatabase(baseUrl: string = readDbEnv().DATABASE_URL): Promise<void> {
  const checksum = await migrationsChecksum();
  await withAdmin(baseUrl, async (client) => {
    if ((await templateChecksum(client)) === checksum) return;
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      if ((await templateChecksum(client)) === checksum) return; // another process built it while we waited
      // Build beside the old template and swap, so a failed build leaves nothing half-migrated behind.
      const building = `${TEMPLATE_DATABASE}_build_${randomBytes(4).toString('hex')}`;
      await client.query(`CREATE DATABASE ${quoteIdent(building)}`);
      const { code, output } = await runPrisma(['migrate', 'deploy'], databaseUrl(baseUrl, building));
      if (code !== 0) {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`);
        throw new Error(`prisma migrate deploy failed for the test template (exit ${code}):\n${output}`);
      }
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(TEMPLATE_DATABASE)} WITH (FORCE)`);
      await client.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(TEMPLATE_DATABASE)}`);
      await client.query(`COMMENT ON DATABASE ${quoteIdent(TEMPLATE_DATABASE)} IS 'migrations:${checksum}'`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  });
}

const TEST_DATABASE_NAME = /^crucible_test_([0-9a-z]+)_[0-9a-f]{10}$/;
/** A test run that crashed before drop() leaves its database behind; anything this old is no longer in use. */
export const STALE_TEST_DATABASE_MS = 6 * 60 * 60 * 1000;
let sweptThisProcess = false;

/** Drops test databases (named by createTestDatabase, with their creation time) older than `olderThanMs`. */
export async function dropStaleTestDatabases(
  baseUrl: string = readDbEnv().DATABASE_URL,
  olderThanMs: number = STALE_TEST_DATABASE_MS,
): Promise<string[]> {
  return withAdmin(baseUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'crucible\\_test\\_%'`,
    );
    const dropped: string[] = [];
    for (const { datname } of rows) {
      const match = TEST_DATABASE_NAME.exec(datname);
      if (!match || Date.now() - Number.parseInt(match[1] as string, 36) < olderThanMs) continue;
      try {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
        dropped.push(datname);
      } catch {
        // another process is dropping it too: fine
      }
    }
    return dropped;
  });
}

/**
 * A fresh, uniquely named, migrated database cloned from the template. Call `drop()` when done (afterAll).
 * `baseUrl` names the server and credentials (default DATABASE_URL); its database part is ignored.
 */
export async function createTestDatabase(baseUrl: string = readDbEnv().DATABASE_URL): Promise<TTestDatabase> {
  await ensureTemplateDatabase(baseUrl);
  if (!sweptThisProcess) {
    sweptThisProcess = true;
    await dropStaleTestDatabases(baseUrl);
  }
  const name = `${TEST_DATABASE_PREFIX}${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
  await withAdmin(baseUrl, async (client) => {
    // Copying needs no open session on the template; retry briefly if another process is just building it.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(TEMPLATE_DATABASE)}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error; // 55006: object_in_use
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  const url = databaseUrl(baseUrl, name);
  const prisma = createPrisma(url, { max: 5 });
  let dropped = false;
  return {
    url,
    prisma,
    async drop() {
      if (dropped) return;
      dropped = true;
      await prisma.$disconnect();
      await withAdmin(baseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    },
  };
}

/**
 * A database outage for tests: no new connection is accepted (ALTER DATABASE ... ALLOW_CONNECTIONS false) and every
 * open one is ended, so pooled clients fail too, as when Postgres goes away. Resolves with the function that ends
 * the outage.
 */
export async function blockDatabase(url: string): Promise<() => Promise<void>> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await withAdmin(url, async (c) => {
    await c.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS false`);
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
  });
  return () =>
    withAdmin(url, (c) => c.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`)).then(() => {});
}
