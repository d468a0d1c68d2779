/**
 * Shared by the dataset API tests: a private storage folder (or the S3 bucket when S3_ENDPOINT is set), a
 * housekeeping worker in this process (imports are its `dataset.import` jobs), and an upload helper that sends bytes
 * to a presigned target the way a browser would — through the local driver's upload route handler, or with a real
 * HTTP request to S3.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { APP_URL, call, type TCaller } from './helpers';

let storageDir: string | undefined;

/** Call before anything uses storage (getStorage() reads the env once). */
export function useTestStorage(): void {
  if (process.env.S3_ENDPOINT) {
    process.env.STORAGE_DRIVER = 's3';
    // A bucket of this file's own (the S3 driver creates it on first use), emptied and removed by dropTestStorage:
    // otherwise every run's objects pile up in the S3 server, and a Ceph kept across a few full runs fills its
    // memstore OSD, after which every write hangs. Worker processes the file spawns inherit it with the env.
    process.env.S3_BUCKET = `crucible-test-${randomUUID().slice(0, 12)}`;
    return;
  }
  storageDir = mkdtempSync(path.join(tmpdir(), 'crucible-ds-test-'));
  process.env.STORAGE_DRIVER = 'local';
  process.env.STORAGE_DIR = storageDir;
}

/** Removes the file's storage folder, or empties and removes its own S3 bucket (best effort). */
export async function dropTestStorage(): Promise<void> {
  if (storageDir) rmSync(storageDir, { recursive: true, force: true });
  const bucket = process.env.S3_BUCKET;
  if (process.env.STORAGE_DRIVER !== 's3' || !bucket?.startsWith('crucible-test-')) return;
  const { getStorage } = await import('@crucible/storage');
  const storage = getStorage() as ReturnType<typeof getStorage> & {
    bucket?: string;
    client?: { removeBucket(name: string): Promise<void> };
  };
  if (storage.bucket !== bucket) return; // this process's storage was made for another bucket: not ours to drop
  try {
    const keys = (await storage.listObjects('')).map((o) => o.key);
    if (keys.length) await storage.deleteObjects(keys);
    await storage.client?.removeBucket(bucket);
  } catch (error) {
    console.warn(`could not remove the test bucket ${bucket}: ${(error as Error).message}`);
  }
}

type TRuntime = { closeRuntime(options?: { graceMs?: number }): Promise<void> };
let housekeeping: { runtime: TRuntime; prefix: string; ownPrefix: boolean } | undefined;

/**
 * Runs the housekeeping worker's queue in this process (workers/housekeeping, through the packages/jobs runtime, as
 * the fine-tuning test runs a trainer) on real Redis, so imports the routes enqueue are validated. Uses the test's
 * REDIS_PREFIX when it set one, else a prefix of its own (never the default: a worker of `npm start` would take the
 * jobs). Call after useTestStorage and startTestDatabase.
 */
export async function startHousekeeping(): Promise<void> {
  const { uniquePrefix } = await import('@crucible/jobs/testing');
  const ownPrefix = !process.env.REDIS_PREFIX?.startsWith('crucible-test-');
  if (ownPrefix) process.env.REDIS_PREFIX = uniquePrefix();
  const prefix = process.env.REDIS_PREFIX as string;
  const { createWorkerRuntime } = await import('@crucible/jobs');
  const { housekeepingJobs } = await import('../../../../workers/housekeeping/src/jobs');
  const runtime = createWorkerRuntime({
    kind: 'housekeeping',
    queue: 'housekeeping',
    jobs: housekeepingJobs,
    prefix,
    concurrency: 2,
    handleSignals: false,
    log: () => {},
  });
  await (runtime as unknown as { ready: Promise<void> }).ready;
  housekeeping = { runtime, prefix, ownPrefix };
}

/** Stops the worker of startHousekeeping; with a prefix of its own, removes its Redis keys and closes Redis. */
export async function stopHousekeeping(): Promise<void> {
  const h = housekeeping;
  housekeeping = undefined;
  if (!h) return;
  await h.runtime.closeRuntime({ graceMs: 0 });
  const { closeHousekeepingContext } = await import('../../../../workers/housekeeping/src/context');
  closeHousekeepingContext();
  if (!h.ownPrefix) return; // the test's own prefix: the test cleans it up
  const jobs = await import('@crucible/jobs');
  const { dropPrefix } = await import('@crucible/jobs/testing');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, h.prefix);
  await redis.quit();
  await jobs.closeRedisConnection();
}

type TUpload = {
  url: string;
  method: 'POST' | 'PUT';
  fields?: Record<string, string>;
  headers?: Record<string, string>;
};

/** Sends `bytes` to a presigned upload target; returns the HTTP status. */
export async function sendToPresigned(target: TUpload, bytes: Uint8Array | string): Promise<number> {
  const blob = new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)]);
  if (target.url.startsWith(APP_URL)) {
    const { storageUpload } = await import('../../lib/server/routes/datasets-storage');
    const res = await storageUpload(
      new Request(target.url, { method: 'PUT', body: blob, headers: target.headers, duplex: 'half' } as RequestInit),
      {},
    );
    await res.arrayBuffer();
    return res.status;
  }
  const { uploadToPresigned } = await import('@crucible/storage');
  const res = await uploadToPresigned(target, blob);
  await res.arrayBuffer();
  return res.status;
}

/** Fetches a presigned download link (local route handler or S3). */
export async function fetchPresigned(url: string): Promise<string> {
  if (url.startsWith(APP_URL)) {
    const { storageDownload } = await import('../../lib/server/routes/datasets-storage');
    const res = await storageDownload(new Request(url), {});
    if (res.status !== 200) throw new Error(`download ${res.status}`);
    return res.text();
  }
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`download ${res.status}`);
  return res.text();
}

/** Creates a dataset, uploads `bytes` as `fileName` and imports it (waiting); returns the import answer. */
export async function uploadAndImport(
  caller: TCaller,
  slug: string,
  fileName: string,
  bytes: Uint8Array | string,
  extra: Record<string, unknown> = {},
  datasetId?: string,
) {
  let id = datasetId;
  if (!id) {
    const ds = await call('POST', '/api/workspaces/[slug]/datasets', {
      caller,
      params: { slug },
      body: { name: fileName },
    });
    if (ds.status !== 201) throw new Error(`create dataset ${ds.status} ${JSON.stringify(ds.body)}`);
    id = ds.body.id as string;
  }
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  const up = await call('POST', '/api/workspaces/[slug]/datasets/[datasetId]/uploads', {
    caller,
    params: { slug, datasetId: id },
    body: { fileName, size },
  });
  if (up.status !== 201) throw new Error(`start upload ${up.status} ${JSON.stringify(up.body)}`);
  const sent = await sendToPresigned(up.body.upload, bytes);
  if (sent >= 300) throw new Error(`upload to storage answered ${sent}`);
  const imp = await call('POST', '/api/workspaces/[slug]/datasets/[datasetId]/imports', {
    caller,
    params: { slug, datasetId: id },
    body: { uploadId: up.body.uploadId, wait: true, ...extra },
  });
  return { datasetId: id, ...imp };
}
