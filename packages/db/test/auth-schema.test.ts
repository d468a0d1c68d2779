/**
 * The auth tables must carry exactly what better-auth 1.7 reads and writes, or sign-up fails at run time. We ask
 * better-auth itself for its tables (core + organization plugin with modelName 'workspace', as @crucible/auth
 * configures it) and compare them with the generated client's models and with the migrated database's columns.
 */
import { Prisma } from '@prisma/client';
import { getAuthTables } from 'better-auth/db';
import { organization } from 'better-auth/plugins/organization';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TTestDatabase } from '../src/testing';

type TField = { type: string | string[]; required?: boolean; defaultValue?: unknown };

/**
 * @better-auth/api-key 1.7.5 `apiKeySchema` (dist/index.mjs, "src/schema.ts"), copied because that package cannot be
 * installed beside better-auth 1.7.25 (pinned peers; see packages/auth/src/api-keys.ts). Defaults come from options.
 */
const API_KEY_FIELDS: Record<string, TField> = {
  configId: { type: 'string', required: true, defaultValue: 'default' },
  name: { type: 'string', required: false },
  start: { type: 'string', required: false },
  referenceId: { type: 'string', required: true },
  prefix: { type: 'string', required: false },
  key: { type: 'string', required: true },
  refillInterval: { type: 'number', required: false },
  refillAmount: { type: 'number', required: false },
  lastRefillAt: { type: 'date', required: false },
  enabled: { type: 'boolean', required: false, defaultValue: true },
  rateLimitEnabled: { type: 'boolean', required: false, defaultValue: true },
  rateLimitTimeWindow: { type: 'number', required: false, defaultValue: 86_400_000 },
  rateLimitMax: { type: 'number', required: false, defaultValue: 10 },
  requestCount: { type: 'number', required: false, defaultValue: 0 },
  remaining: { type: 'number', required: false },
  lastRequest: { type: 'date', required: false },
  expiresAt: { type: 'date', required: false },
  createdAt: { type: 'date', required: true },
  updatedAt: { type: 'date', required: true },
  permissions: { type: 'string', required: false },
  metadata: { type: 'string', required: false },
};

const PG_TYPES: Record<string, string[]> = {
  string: ['text'],
  boolean: ['boolean'],
  date: ['timestamp without time zone', 'timestamp with time zone'],
  number: ['integer', 'bigint', 'double precision', 'numeric'],
};

type TColumn = {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: string;
  column_default: string | null;
};

const tables = getAuthTables({
  plugins: [organization({ schema: { organization: { modelName: 'workspace' } } })],
  user: { additionalFields: { locale: { type: 'string', required: false, defaultValue: 'en' } } },
});
const authTables: Record<string, { modelName: string; fields: Record<string, TField> }> = {
  ...(tables as unknown as Record<string, { modelName: string; fields: Record<string, TField> }>),
  apikey: { modelName: 'apikey', fields: API_KEY_FIELDS },
};

function prismaModel(table: string) {
  return Prisma.dmmf.datamodel.models.find((m) => (m.dbName ?? m.name) === table);
}

describe('better-auth tables match the Prisma schema and the migrated database', () => {
  let db: TTestDatabase;
  let columns: TColumn[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    columns = await db.prisma.$queryRaw<TColumn[]>`
      SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text
        FROM information_schema.columns WHERE table_schema = 'public'`;
  });
  afterAll(() => db?.drop());

  it('covers the core, organization (as workspace) and api-key tables', () => {
    expect(
      Object.values(authTables)
        .map((t) => t.modelName)
        .sort(),
    ).toEqual(['account', 'apikey', 'invitation', 'member', 'session', 'user', 'verification', 'workspace'].sort());
  });

  for (const [key, table] of Object.entries(authTables)) {
    it(`${key} -> ${table.modelName}`, () => {
      const model = prismaModel(table.modelName);
      expect(model, `no Prisma model mapped to table "${table.modelName}"`).toBeDefined();
      if (!model) return;
      // better-auth's Prisma adapter calls prisma[modelName]: the client accessor is the model name, lower-cased first
      expect(model.name.charAt(0).toLowerCase() + model.name.slice(1)).toBe(table.modelName);

      const tableColumns = columns.filter((c) => c.table_name === table.modelName);
      expect(tableColumns.length).toBeGreaterThan(0);
      for (const [name, field] of Object.entries(table.fields)) {
        expect(model.fields.find((f) => f.name === name)?.kind, `${model.name}.${name} in the client`).toBe('scalar');
        const column = tableColumns.find((c) => c.column_name === name);
        expect(column, `${table.modelName}.${name} is missing`).toBeDefined();
        if (!column) continue;
        expect(PG_TYPES[String(field.type)], `${table.modelName}.${name}: ${field.type}`).toContain(column.data_type);
        if (field.required) expect(column.is_nullable, `${table.modelName}.${name} must be NOT NULL`).toBe('NO');
        else if (column.is_nullable === 'NO')
          expect(
            column.column_default,
            `${table.modelName}.${name}: NOT NULL here, optional in better-auth`,
          ).not.toBeNull();
      }
      // no column better-auth would leave empty on insert (Prisma's @updatedAt fills updatedAt)
      for (const column of tableColumns) {
        if (column.column_name === 'id' || column.column_name in table.fields) continue;
        const fillable =
          column.is_nullable === 'YES' || column.column_default !== null || column.column_name === 'updatedAt';
        expect(fillable, `${table.modelName}.${column.column_name} is NOT NULL but unknown to better-auth`).toBe(true);
      }
    });
  }
});
