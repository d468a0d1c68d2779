import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getQueue, QUEUE_NAMES } from '@crucible/jobs';
import { getModelUpload, presignModelUploadParts, startModelUpload } from '@crucible/services/model-uploads';
import { getStorage, isStorageError } from '@crucible/storage';
import { afterAll, expect, it } from 'vitest';
import { scheduleModelUploadExpiry } from '../src/model-uploads';
import { choreTestBed } from './helpers';

/**
 * Unfinished "Add base model" uploads (issue 14): the shared repeatable `model-uploads.expire` job, through real
 * Redis, a fresh Postgres database and the configured storage (Ceph's S3 in CI), cancels the uploads left unfinished
 * past MODEL_UPLOAD_EXPIRE_DAYS — storage drops their parts — and leaves younger ones and completed ones alone.
 */

const bed = choreTestBed();
const savedDir = process.env.STORAGE_DIR;
const dir = mkdtempSync(join(tmpdir(), 'crucible-uploads-'));
process.env.STORAGE_DIR ??= dir; // the local driver's root, where no S3 server is configured

afterAll(() => {
  if (savedDir === undefined) delete process.env.STORAGE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

it('cancels uploads left unfinished past MODEL_UPLOAD_EXPIRE_DAYS on its schedule; storage drops them', async () => {
  const ws = await bed.db.prisma.workspace.create({ data: { name: 'Uploads', slug: 'uploads' } });
  const old = await startModelUpload(ws.id, { fileName: 'old-model.tar', size: 10 });
  const young = await startModelUpload(ws.id, { fileName: 'young-model.tar', size: 10 });
  // As old as the first, but completed: its archive is what "Add base model" unpacks, never cancelled.
  const done = await startModelUpload(ws.id, { fileName: 'done-model.tar', size: 10 });
  await bed.db.prisma.modelUpload.update({
    where: { id: done.uploadId },
    data: { status: 'completed', createdAt: new Date(Date.now() - 9 * 86_400_000) },
  });
  // Started 8 days ago (the default lets 7), and 2 days ago.
  const day = 86_400_000;
  await bed.db.prisma.modelUpload.update({
    where: { id: old.uploadId },
    data: { createdAt: new Date(Date.now() - 8 * day) },
  });
  await bed.db.prisma.modelUpload.update({
    where: { id: young.uploadId },
    data: { createdAt: new Date(Date.now() - 2 * day) },
  });
  const rows = await bed.db.prisma.modelUpload.findMany({ orderBy: { createdAt: 'asc' } });
  const storage = getStorage();
  for (const r of rows) await expect(storage.listParts(r.objectKey, r.storageUploadId)).resolves.toEqual([]);

  const runtime = await bed.start();
  const completed = new Promise<void>((resolve) => runtime.worker.on('completed', () => resolve()));
  await scheduleModelUploadExpiry(600_000, { prefix: bed.prefix });
  await scheduleModelUploadExpiry(600_000, { prefix: bed.prefix });
  expect(await getQueue(QUEUE_NAMES.housekeeping, { prefix: bed.prefix }).getJobSchedulersCount()).toBe(1);
  await completed; // the scheduler's first run is at once

  expect((await getModelUpload(ws.id, old.uploadId)).status).toBe('aborted');
  expect((await getModelUpload(ws.id, young.uploadId)).status).toBe('uploading');
  expect((await getModelUpload(ws.id, done.uploadId)).status).toBe('completed');
  const [doneRow, oldRow, youngRow] = rows;
  const gone = await storage.listParts(oldRow.objectKey, oldRow.storageUploadId).then(
    () => null,
    (e: unknown) => e,
  );
  expect(isStorageError(gone, 'not_found'), String(gone)).toBe(true);
  await expect(storage.listParts(youngRow.objectKey, youngRow.storageUploadId)).resolves.toEqual([]);
  // A browser that comes back to the cancelled upload is told to start again.
  await expect(presignModelUploadParts(ws.id, old.uploadId, { partNumbers: [1] })).rejects.toThrow(/start a new one/);
  await storage.listParts(doneRow.objectKey, doneRow.storageUploadId); // untouched: its storage upload is still there
  for (const r of [youngRow, doneRow]) await storage.abortMultipartUpload(r.objectKey, r.storageUploadId);
}, 60_000);
