// @vitest-environment node
/**
 * Dataset imports as queued jobs with their state in Postgres (issue 17), through the REST handlers, a housekeeping
 * worker in this process and real Postgres, Redis and storage. They ran inside the console process with their
 * progress in a process-global map: a second console replica saw none of them, and nothing could stop one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropTestStorage,
  sendToPresigned,
  startHousekeeping,
  stopHousekeeping,
  useTestStorage,
} from './datasets-helpers';
import { addMember, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

const SLUG = 'imports';
const D = '/api/workspaces/[slug]/datasets';
const I = `${D}/[datasetId]/imports/[importId]`;
const saved = { ...process.env };

let owner: TCaller;
let viewer: TCaller & { email: string };
let key: string;
let prefix: string;

/** `n` valid chat rows, each a little different (so validation has work per row). */
const chatRows = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Question ${i}: what is ${i} plus ${i * 7}, and why?` },
        { role: 'assistant', content: `It is ${i + i * 7}, because adding ${i} to ${i * 7} gives ${i * 8}.` },
      ],
    }),
  ).join('\n');

/** A new dataset with `content` uploaded through its presigned target; the import is not started. */
async function uploaded(content: string, fileName = 'rows.jsonl') {
  const ds = await call('POST', D, { caller: owner, params: { slug: SLUG }, body: { name: fileName } });
  const up = await call('POST', `${D}/[datasetId]/uploads`, {
    caller: owner,
    params: { slug: SLUG, datasetId: ds.body.id },
    body: { fileName, size: Buffer.byteLength(content) },
  });
  expect(await sendToPresigned(up.body.upload, content)).toBeLessThan(300);
  return { datasetId: ds.body.id as string, uploadId: up.body.uploadId as string };
}

const startImport = (datasetId: string, body: Record<string, unknown>) =>
  call('POST', `${D}/[datasetId]/imports`, { caller: owner, params: { slug: SLUG, datasetId }, body });

const importOf = async (datasetId: string, importId: string) =>
  (await call('GET', I, { caller: owner, params: { slug: SLUG, datasetId, importId } })).body;

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  useTestStorage();
  const { uniquePrefix } = await import('@crucible/jobs/testing');
  prefix = uniquePrefix();
  process.env.REDIS_PREFIX = prefix;
  await startTestDatabase();
  owner = await signUp('imp-owner');
  viewer = await signUp('imp-viewer');
  await makeWorkspace(owner, SLUG);
  await addMember(owner, SLUG, viewer, 'viewer');
  const k = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: owner,
    params: { slug: SLUG },
    body: { name: 'replica' },
  });
  key = k.body.key;
}, 120_000);

afterAll(async () => {
  await stopHousekeeping();
  const jobs = await import('@crucible/jobs');
  const { dropPrefix } = await import('@crucible/jobs/testing');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await jobs.closeRedisConnection();
  await stopTestDatabase();
  await dropTestStorage();
  process.env = saved;
});

describe('with no housekeeping worker running', () => {
  it('queues the import (202, validating) and a cancel takes it out of the queue at once', async () => {
    const { datasetId, uploadId } = await uploaded(chatRows(2));
    // `wait: true` does not hold the request while nothing can run the import: it answers that it is queued.
    const t0 = Date.now();
    const res = await startImport(datasetId, { uploadId, wait: true });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: uploadId, status: 'validating', bytesRead: 0, versionId: null, error: null });
    const cancel = await call('POST', `${I}/cancel`, {
      caller: owner,
      params: { slug: SLUG, datasetId, importId: uploadId },
    });
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    const { getQueue } = await import('@crucible/jobs');
    const counts = await getQueue('housekeeping', { prefix }).getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });
});

describe('with a housekeeping worker', () => {
  let replica: ChildProcess | undefined;
  let ask: (c: { method: string; path: string; params: Record<string, string> }) => Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: route answers are read field by field
    body: any;
  }>;

  beforeAll(async () => {
    await startHousekeeping();
    // The second replica: the console's route handlers in a process of their own, same database and Redis prefix.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'replica.ts')], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    replica = child;
    const waiting = new Map<number, (v: { status: number; body: unknown }) => void>();
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('@@ ')) return;
      const msg = JSON.parse(line.slice(3));
      if (msg.ready) ready();
      else waiting.get(msg.id)?.(msg);
    });
    let next = 0;
    ask = (c) =>
      new Promise((resolve) => {
        const id = ++next;
        waiting.set(id, resolve as never);
        child.stdin!.write(`${JSON.stringify({ id, key, ...c })}\n`);
      });
    await isReady;
  }, 120_000);

  afterAll(() => {
    replica?.kill('SIGKILL');
  });

  it('shows an import, its progress and its version to a second console replica (another process)', async () => {
    // Enough rows that reading lasts well past the first progress write (every 500 ms), on a fast machine too.
    const rows = 8_000;
    const { datasetId, uploadId } = await uploaded(chatRows(rows));
    expect((await startImport(datasetId, { uploadId })).status).toBe(202);
    const list = () => ask({ method: 'GET', path: `${D}/[datasetId]/imports`, params: { slug: SLUG, datasetId } });
    // While the worker reads: the other replica sees the import with the rows read so far.
    const running = await until('progress seen by the replica', async () => {
      const r = await list();
      expect(r.status).toBe(200);
      const mine = r.body.data.find((x: { id: string }) => x.id === uploadId);
      if (mine && mine.status !== 'validating')
        throw new Error(`finished before any progress was seen: ${mine.status}`);
      return mine?.rowsRead > 0 ? mine : null;
    });
    expect(running).toMatchObject({ status: 'validating', totalBytes: Buffer.byteLength(chatRows(rows)) });
    expect(running.rowsRead).toBeLessThan(rows);
    const done = await until('the end, seen by the replica', async () => {
      const r = await list();
      const mine = r.body.data.find((x: { id: string }) => x.id === uploadId);
      return mine.status === 'validating' ? null : mine;
    });
    expect(done).toMatchObject({ status: 'succeeded', rowsRead: rows, error: null });
    // The same answer from this process, and the version the import made.
    expect(await importOf(datasetId, uploadId)).toEqual(done);
    const versions = await call('GET', `${D}/[datasetId]/versions`, {
      caller: owner,
      params: { slug: SLUG, datasetId },
    });
    expect(versions.body.data.map((v: { id: string; rowCount: number }) => [v.id, v.rowCount])).toEqual([
      [done.versionId, rows],
    ]);
  });

  it('cancel through the API stops the worker mid-import: cancelled, no version', async () => {
    const rows = 20_000; // read for seconds: the cancel lands mid-import (the worker stops within 500 ms of it)
    const { datasetId, uploadId } = await uploaded(chatRows(rows));
    await startImport(datasetId, { uploadId });
    await until('progress', async () => (await importOf(datasetId, uploadId)).rowsRead > 0);
    // A viewer may watch it but not stop it.
    const refused = await call('POST', `${I}/cancel`, {
      caller: viewer,
      params: { slug: SLUG, datasetId, importId: uploadId },
    });
    expect(refused.status).toBe(403);
    const cancel = await call('POST', `${I}/cancel`, {
      caller: owner,
      params: { slug: SLUG, datasetId, importId: uploadId },
    });
    expect(cancel.status).toBe(202);
    expect(cancel.body.cancelRequestedAt).toEqual(expect.any(String));
    const stopped = await until('the worker to stop', async () => {
      const r = await importOf(datasetId, uploadId);
      return r.status === 'validating' ? null : r;
    });
    expect(stopped).toMatchObject({ status: 'cancelled', versionId: null, error: { code: 'cancelled' } });
    expect(stopped.rowsRead).toBeLessThan(rows);
    const versions = await call('GET', `${D}/[datasetId]/versions`, {
      caller: owner,
      params: { slug: SLUG, datasetId },
    });
    expect(versions.body.data).toEqual([]);
    // Cancelling again answers it as it is; a finished import cannot be cancelled.
    const again = await call('POST', `${I}/cancel`, {
      caller: owner,
      params: { slug: SLUG, datasetId, importId: uploadId },
    });
    expect(again.body.status).toBe('cancelled');
  });

  it('imports an upload once: a failed or cancelled import starts again, a succeeded one is a 409', async () => {
    const { datasetId, uploadId } = await uploaded('[{"instruction":"a","output":"b"}]', 'mine.json');
    const refused = await startImport(datasetId, {
      uploadId,
      datasetInfo: { other: { file_name: 'other.json' } },
      wait: true,
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request' });
    const fixed = await startImport(datasetId, {
      uploadId,
      datasetInfo: { mine: { file_name: 'mine.json' } },
      wait: true,
    });
    expect(fixed.status).toBe(201);
    expect(fixed.body).toMatchObject({ id: uploadId, status: 'succeeded', version: { number: 1, rowCount: 1 } });
    const twice = await startImport(datasetId, { uploadId, wait: true });
    expect(twice.status).toBe(409);
    const late = await call('POST', `${I}/cancel`, {
      caller: owner,
      params: { slug: SLUG, datasetId, importId: uploadId },
    });
    expect(late.status).toBe(409);
    const versions = await call('GET', `${D}/[datasetId]/versions`, {
      caller: owner,
      params: { slug: SLUG, datasetId },
    });
    expect(versions.body.data).toHaveLength(1);
  });
});
