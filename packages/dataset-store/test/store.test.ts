import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disconnectAll, type PrismaClient } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { getStorage } from '@crucible/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetStoreError, readDatasetLimits, versionObjectKeys, writeVersion } from '../src/index';

/**
 * What an import asks of writeVersion (issue 17), on real Postgres and local storage: stop on a signal with nothing
 * stored, name the stored files, and create the version row in a transaction the caller can veto.
 */

const saved = { ...process.env };
const dir = mkdtempSync(join(tmpdir(), 'crucible-store-'));
let db: TTestDatabase;
let prisma: PrismaClient;
let target: { workspaceId: string; datasetId: string; userId: null };

const row = (i: number) =>
  `${JSON.stringify({
    messages: [
      { role: 'user', content: `q${i}` },
      { role: 'assistant', content: `a${i}` },
    ],
  })}\n`;

/** Rows as a stream, calling `onChunk` before each one is handed over. */
async function* rows(n: number, onChunk: (i: number) => void = () => {}) {
  for (let i = 0; i < n; i++) {
    onChunk(i);
    yield new TextEncoder().encode(row(i));
  }
}

const storedKeys = async () =>
  (await getStorage().listObjects(`workspaces/${target.workspaceId}/datasets/${target.datasetId}/versions/`)).map(
    (o) => o.key,
  );

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  Object.assign(process.env, { DATABASE_URL: db.url, STORAGE_DRIVER: 'local', STORAGE_DIR: join(dir, 'storage') });
  const ws = await prisma.workspace.create({ data: { name: 'S', slug: 's' } });
  const ds = await prisma.dataset.create({ data: { workspaceId: ws.id, name: 'd' } });
  target = { workspaceId: ws.id, datasetId: ds.id, userId: null };
}, 60_000);

afterAll(async () => {
  await disconnectAll();
  await db?.drop();
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('writeVersion', () => {
  it('stops reading when its signal is aborted: DatasetStoreError(cancelled), nothing stored, no version', async () => {
    const stop = new AbortController();
    const attempt = writeVersion(
      { source: rows(1_000, (i) => i === 10 && stop.abort()), fileName: 'rows.jsonl' },
      { ...target, signal: stop.signal },
    );
    await expect(attempt).rejects.toBeInstanceOf(DatasetStoreError);
    await expect(attempt).rejects.toMatchObject({ code: 'cancelled' });
    expect(await prisma.datasetVersion.count({ where: { datasetId: target.datasetId } })).toBe(0);
    expect(await storedKeys()).toEqual([]);
  });

  it('names the stored files as asked, and a veto in its transaction leaves no version row', async () => {
    const attempt = writeVersion(
      { source: rows(3), fileName: 'rows.jsonl' },
      {
        ...target,
        objectName: 'import-up_test.jsonl',
        inTransaction: async () => {
          throw new Error('not ours');
        },
      },
    );
    await expect(attempt).rejects.toThrow('not ours');
    expect(await prisma.datasetVersion.count({ where: { datasetId: target.datasetId } })).toBe(0);
    // A named version's files are its caller's: they stay for the run that owns them.
    const [canonical] = versionObjectKeys(target.workspaceId, target.datasetId, 'import-up_test.jsonl');
    expect(await storedKeys()).toEqual([canonical]);

    let claimed: { id: string; number: number } | null = null;
    const version = await writeVersion(
      { source: rows(3), fileName: 'rows.jsonl' },
      {
        ...target,
        objectName: 'import-up_test.jsonl',
        inTransaction: async (_tx, v) => {
          claimed = v;
        },
      },
    );
    expect(claimed).toMatchObject({ id: version.id, number: 1 });
    expect(version).toMatchObject({ objectKey: canonical, rowCount: 3 });
    expect(await storedKeys()).toEqual([canonical]);
  });
});

describe('readDatasetLimits', () => {
  it('reads the limits, and refuses a wrong one with a sentence naming it', () => {
    expect(readDatasetLimits({ DATASET_MAX_ROWS: '10' }).maxRows).toBe(10);
    expect(() => readDatasetLimits({ DATASET_MAX_ROWS: 'many' })).toThrow(/Invalid dataset limits: DATASET_MAX_ROWS/);
  });
});
