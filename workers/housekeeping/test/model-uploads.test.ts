import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disconnectAll } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { closeQueues, createRedisConnection, getQueue, QUEUE_NAMES, type TWorkerRuntime } from '@crucible/jobs';
import { getModelUpload, presignModelUploadParts, startModelUpload } from '@crucible/services/model-uploads';
import { getStorage, isStorageError } from '@crucible/storage';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeHousekeepingContext } from '../src/context';
import { scheduleModelUploadExpiry } from '../src/model-uploads';
import { startHousekeepingRuntime } from './helpers';

/**
 * Unfinished "Add base model" uploads (issue 14): the shared repeatable `model-uploads.expire` job, through real
 * Redis, a fresh Postgres database and the configured storage (Ceph's S3 in CI), cancels the uploads left unfinished
 * past MODEL_UPLOAD_EXPIRE_DAYS — storage drops their parts — and leaves younger ones and completed ones alone.
 */

let db: TTestDatabase;
let runtime: TWorkerRuntime | null = null;
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const redis = createRedisConnection();
const saved = { DATABASE_URL: process.env.DATABASE_URL, STORAGE_DIR: process.env.STORAGE_DIR };
const dir = mkdtempSync(join(tmpdir(), 'crucible-uploads-'));

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.STORAGE_DIR ??= dir; // the local driver's root, where no S3 server is configured
});

afterAll(async () => {
  await runtime?.closeRuntime({ graceMs: 0 });
  await closeQueues();
  closeHousekeepingContext();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  Object.assign(process.env, saved);
  if (saved.STORAGE_DIR === undefined) delete process.env.STORAGE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

it('cancels uploads left unfinished past MODEL_UPLOAD_EXPIRE_DAYS on its schedule; storage drops them', async () => {
  const ws = await db.prisma.workspace.create({ data: { name: 'Uploads', slug: 'uploads' } });
  const old = await startModelUpload(ws.id, { fileName: 'old-model.tar', size: 10 });
  const young = await startModelUpload(ws.id, { fileName: 'young-model.tar', size: 10 });
  // Started 8 days ago (the default lets 7), and 2 days ago.
  const day = 86_400_000;
  await db.prisma.modelUpload.update({
    where: { id: old.uploadId },
    data: { createdAt: new Date(Date.now() - 8 * day) },
  });
  await db.prisma.modelUpload.update({
    where: { id: young.uploadId },
    data: { createdAt: new Date(Date.now() - 2 * day) },
  });
  const rows = await db.prisma.modelUpload.findMany({ orderBy: { createdAt: 'asc' } });
  const storage = getStorage();
  for (const r of rows) await expect(storage.listParts(r.objectKey, r.storageUploadId)).resolves.toEqual([]);

  runtime = await startHousekeepingRuntime(prefix);
  const completed = new Promise<void>((resolve) => runtime?.worker.on('completed', () => resolve()));
  await scheduleModelUploadExpiry(600_000, { prefix });
  await scheduleModelUploadExpiry(600_000, { prefix });
  expect(await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJobSchedulersCount()).toBe(1);
  await completed; // the scheduler's first run is at once

  expect((await getModelUpload(ws.id, old.uploadId)).status).toBe('aborted');
  expect((await getModelUpload(ws.id, young.uploadId)).status).toBe('uploading');
  const [oldRow, youngRow] = rows;
  const gone = await storage.listParts(oldRow.objectKey, oldRow.storageUploadId).then(
    () => null,
    (e: unknown) => e,
  );
  expect(isStorageError(gone, 'not_found'), String(gone)).toBe(true);
  await expect(storage.listParts(youngRow.objectKey, youngRow.storageUploadId)).resolves.toEqual([]);
  // A browser that comes back to the cancelled upload is told to start again.
  await expect(presignModelUploadParts(ws.id, old.uploadId, { partNumbers: [1] })).rejects.toThrow(/start a new one/);
  await storage.abortMultipartUpload(youngRow.objectKey, youngRow.storageUploadId);
}, 60_000);
