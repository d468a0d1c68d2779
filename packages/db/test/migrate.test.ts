import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { readDbEnv } from '../src/env';
import { createTestDatabase, databaseUrl, dropStaleTestDatabases, runPrisma, TEMPLATE_DATABASE } from '../src/testing';

const baseUrl = readDbEnv().DATABASE_URL;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: databaseUrl(baseUrl, 'postgres') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

const EXPECTED_TABLES = [
  '_prisma_migrations',
  'account',
  'apikey',
  'audit_log',
  'base_model',
  'base_model_download',
  'budget',
  'budget_alert',
  'checkpoint',
  'dataset',
  'dataset_import',
  'dataset_version',
  'deployment',
  'deployment_replica',
  'eval_definition',
  'evaluation',
  'evaluation_model',
  'evaluation_output',
  'evaluation_rating',
  'evaluation_row',
  'fine_tuned_model',
  'invitation',
  'job_event',
  'member',
  'model_export',
  'model_upload',
  'price_item',
  'price_list',
  'request_log',
  'request_log_content',
  'session',
  'training_job',
  'training_metric',
  'usage_record',
  'user',
  'verification',
  'workspace',
  'workspace_secret',
];

describe('migrations, offline, on an empty database', () => {
  // The CLI creates the database itself (packages/db/prisma.config.ts), as `npm start` on a fresh machine needs.
  const name = `crucible_migrate_test_${randomBytes(5).toString('hex')}`;
  const url = databaseUrl(baseUrl, name);
  afterAll(() => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));

  it('migrate deploy creates the database and applies every migration', async () => {
    const deploy = await runPrisma(['migrate', 'deploy'], url);
    expect(deploy.output).toContain('All migrations have been successfully applied');
    expect(deploy.code).toBe(0);

    const tables = await query<{ table_name: string }>(
      url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(EXPECTED_TABLES);

    const triggers = await query<{ tgname: string }>(
      url,
      'SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname',
    );
    expect(triggers.map((t) => t.tgname)).toEqual(['dataset_version_immutable', 'usage_record_append_only']);

    // every domain table carries an indexed workspaceId
    const indexed = await query<{ table_name: string }>(
      url,
      `SELECT DISTINCT t.relname AS table_name
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
        WHERE a.attname = 'workspaceId'`,
    );
    const withColumn = await query<{ table_name: string }>(
      url,
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'workspaceId'`,
    );
    expect(withColumn.length).toBeGreaterThanOrEqual(15);
    expect(indexed.map((r) => r.table_name).sort()).toEqual(withColumn.map((r) => r.table_name).sort());
  });

  it('migrate status then reports the database up to date, and the CLI exits promptly', async () => {
    const started = Date.now();
    const status = await runPrisma(['migrate', 'status'], url);
    expect(status.output).toContain('Database schema is up to date');
    expect(status.code).toBe(0);
    // fix 4 in prisma.config.ts: without it the wasm engine's timers hold the CLI for about a minute
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('leaves no shadow database behind', async () => {
    const rows = await admin((c) => c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'prisma_shadow_%'`));
    expect(rows.rows).toEqual([]);
  });
});

describe('test databases cloned from the template', () => {
  it('are migrated, independent, up to date for Prisma, and dropped by drop()', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      expect(a.url).not.toBe(b.url);
      await a.prisma.workspace.create({ data: { name: 'Only in A', slug: 'only-a' } });
      expect(await a.prisma.workspace.count()).toBe(1);
      expect(await b.prisma.workspace.count()).toBe(0);

      const status = await runPrisma(['migrate', 'status'], a.url);
      expect(status.output).toContain('Database schema is up to date');

      // a clone of the template, not a new migration run: the template database stays the same object
      const templateOid = () =>
        admin((c) => c.query(`SELECT oid FROM pg_database WHERE datname = $1`, [TEMPLATE_DATABASE]));
      const before = (await templateOid()).rows;
      const c = await createTestDatabase();
      await c.drop();
      expect(before).toHaveLength(1);
      expect((await templateOid()).rows).toEqual(before);
    } finally {
      await a.drop();
      await b.drop();
    }
    const left = await admin((c) =>
      c.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [
        [new URL(a.url).pathname.slice(1), new URL(b.url).pathname.slice(1)],
      ]),
    );
    expect(left.rows).toEqual([]);
  });

  it('databases left behind by a crashed run are dropped once stale, fresh ones are kept', async () => {
    const stale = `crucible_test_${(Date.now() - 7 * 3600_000).toString(36)}_${randomBytes(5).toString('hex')}`;
    const fresh = `crucible_test_${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
    await admin(async (c) => {
      await c.query(`CREATE DATABASE "${stale}"`);
      await c.query(`CREATE DATABASE "${fresh}"`);
    });
    try {
      const dropped = await dropStaleTestDatabases();
      expect(dropped).toContain(stale);
      expect(dropped).not.toContain(fresh);
      const left = await admin((c) =>
        c.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[stale, fresh]]),
      );
      expect(left.rows.map((r) => r.datname)).toEqual([fresh]);
    } finally {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${fresh}"`));
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${stale}"`));
    }
  });
});
