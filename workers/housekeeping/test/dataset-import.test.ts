import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newUploadKey } from '@crucible/dataset-store';
import { disconnectAll, type PrismaClient } from '@crucible/db';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import {
  closeQueues,
  closeRedisConnection,
  createRedisConnection,
  datasetImportJob,
  enqueue,
  getQueue,
  QUEUE_NAMES,
  type TWorkerRuntime,
} from '@crucible/jobs';
import { dropPrefix, uniquePrefix } from '@crucible/jobs/testing';
import { getStorage } from '@crucible/storage';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeHousekeepingContext } from '../src/context';
import { startHousekeepingRuntime } from './helpers';

/**
 * `dataset.import` on the housekeeping queue (issue 17), on real Postgres, Redis and local storage: a worker killed
 * mid-import leaves no version behind and the job, put back by BullMQ, completes on another worker with exactly one;
 * a job delivered again after success makes no second version; a file the store refuses fails at once, its code
 * on the row; a cancel flag stops the reading.
 */

const FIXTURE = fileURLToPath(new URL('./fixtures/import-worker.ts', import.meta.url));
const prefix = uniquePrefix();
const redis = createRedisConnection();
const saved = { ...process.env };
const dir = mkdtempSync(join(tmpdir(), 'crucible-import-'));
let db: TTestDatabase;
let prisma: PrismaClient;
let ws: { id: string };
const runtimes: TWorkerRuntime[] = [];
const children: ChildProcess[] = [];

/** `n` valid chat rows, each a little different (so the tokenizer has work per row). */
const chatRows = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Question ${i}: what is ${i} plus ${i * 7}, and why?` },
        { role: 'assistant', content: `It is ${i + i * 7}, because adding ${i} to ${i * 7} gives ${i * 8}.` },
      ],
    }),
  ).join('\n');

/** A dataset with `content` uploaded as its file, and its import row as the console writes it; enqueued. */
async function queuedImport(content: string, options: { datasetInfo?: object } = {}, fileName = 'rows.jsonl') {
  const dataset = await prisma.dataset.create({ data: { workspaceId: ws.id, name: fileName } });
  const id = `up_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const objectKey = newUploadKey(ws.id, dataset.id, id, fileName);
  const body = Buffer.from(content);
  await getStorage().putObject(objectKey, body, { size: body.length });
  await prisma.datasetImport.create({
    data: { id, workspaceId: ws.id, datasetId: dataset.id, objectKey, fileName, options, totalBytes: body.length },
  });
  const job = await enqueue(datasetImportJob, { importId: id }, { prefix });
  return { id, datasetId: dataset.id, jobId: job.id };
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rowOf = (id: string) => prisma.datasetImport.findUniqueOrThrow({ where: { id } });
const stored = async (datasetId: string) =>
  (await getStorage().listObjects(`workspaces/${ws.id}/datasets/${datasetId}/versions/`)).map((o) => o.key);

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: join(dir, 'storage'),
  });
  ws = await prisma.workspace.create({ data: { name: 'Imports', slug: 'imports' } });
}, 60_000);

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(runtimes.splice(0).map((r) => r.closeRuntime({ graceMs: 0 })));
});

afterAll(async () => {
  closeHousekeepingContext();
  await closeQueues();
  await closeRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await disconnectAll();
  await db?.drop();
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('dataset.import', () => {
  it('a worker killed mid-import leaves no half version, and the retry on another worker makes exactly one', async () => {
    const rows = 6_000;
    const { id, datasetId, jobId } = await queuedImport(chatRows(rows));
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    // Reading, with progress in the row, not finished: kill -9 (no shutdown, no hand-back).
    const seen = await until('progress written by the first worker', async () => {
      const r = await rowOf(id);
      if (r.status !== 'validating') throw new Error(`finished before the kill (${r.status}); output:\n${output}`);
      return r.rowsRead > 0 ? r : null;
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(seen.attempts).toBe(1);
    expect(seen.rowsRead).toBeLessThan(rows);
    expect(await prisma.datasetVersion.count({ where: { datasetId } })).toBe(0);

    // Another worker: BullMQ's stalled check gives it the job once the dead one's lock has expired.
    runtimes.push(
      await startHousekeepingRuntime(prefix, { lockTiming: { lockDuration: 2_000, stalledInterval: 1_000 } }),
    );
    const done = await until('the retried import', async () => {
      const r = await rowOf(id);
      return r.status === 'validating' ? null : r;
    });
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, rowsRead: rows, errorCode: null });
    const versions = await prisma.datasetVersion.findMany({ where: { datasetId } });
    expect(versions.map((v) => [v.id, v.number, v.rowCount])).toEqual([[done.versionId, 1, rows]]);
    // Its files are named after the import: the first attempt's were overwritten, none left beside them.
    expect((await stored(datasetId)).sort()).toEqual([versions[0].objectKey]);
    // The row says succeeded a moment before BullMQ moves the job to completed (the handler's return): wait for it.
    const queue = getQueue(QUEUE_NAMES.housekeeping, { prefix });
    await until('the job to complete', async () => (await queue.getJobState(jobId)) === 'completed');
  }, 120_000);

  it('a job delivered again after the import succeeded makes no second version', async () => {
    runtimes.push(await startHousekeepingRuntime(prefix));
    const { id, datasetId } = await queuedImport(chatRows(3));
    const first = await until('the import', async () => ((await rowOf(id)).status === 'succeeded' ? rowOf(id) : null));
    const again = await enqueue(datasetImportJob, { importId: id }, { prefix });
    await until('the second delivery', async () =>
      (await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJobState(again.id)) === 'completed' ? true : null,
    );
    expect(await prisma.datasetVersion.count({ where: { datasetId } })).toBe(1);
    expect(await rowOf(id)).toMatchObject({ status: 'succeeded', versionId: first.versionId, attempts: 1 });
  });

  it('a dataset_info.json that does not describe the file fails at once, its code and sentence on the row', async () => {
    runtimes.push(await startHousekeepingRuntime(prefix));
    const { id, datasetId, jobId } = await queuedImport(
      '[{"instruction":"a","output":"b"}]',
      { datasetInfo: { other: { file_name: 'other.json' } } },
      'mine.json',
    );
    const row = await until('the refusal', async () => {
      const r = await rowOf(id);
      return r.status === 'validating' ? null : r;
    });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'invalid_request', versionId: null });
    expect(row.errorMessage).toContain('mine.json');
    const job = await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJob(jobId);
    await until('the job to fail', async () => (await job?.getState()) === 'failed');
    expect((await getQueue(QUEUE_NAMES.housekeeping, { prefix }).getJob(jobId))?.attemptsMade).toBe(1);
    expect(await stored(datasetId)).toEqual([]);
  });

  it('stops at the next progress write once a cancel is asked for: cancelled, no version, nothing stored', async () => {
    runtimes.push(await startHousekeepingRuntime(prefix));
    const rows = 20_000; // read for seconds: the flag lands mid-import
    const { id, datasetId } = await queuedImport(chatRows(rows));
    await until('progress', async () => (await rowOf(id)).rowsRead > 0);
    await prisma.datasetImport.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
    const row = await until('the cancel', async () => {
      const r = await rowOf(id);
      return r.status === 'validating' ? null : r;
    });
    expect(row).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', versionId: null });
    expect(row.rowsRead).toBeLessThan(rows);
    expect(await prisma.datasetVersion.count({ where: { datasetId } })).toBe(0);
    expect(await stored(datasetId)).toEqual([]);
  });
});
