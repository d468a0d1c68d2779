/**
 * Shared by the dataset API tests: a private storage folder (or the S3 bucket when S3_ENDPOINT is set), and an
 * upload helper that sends bytes to a presigned target the way a browser would — through the local driver's
 * upload route handler, or with a real HTTP request to S3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { APP_URL, call, type TCaller } from './helpers';

let storageDir: string | undefined;

/** Call before anything uses storage (getStorage() reads the env once). */
export function useTestStorage(): void {
  if (process.env.S3_ENDPOINT) {
    process.env.STORAGE_DRIVER = 's3';
    return;
  }
  storageDir = mkdtempSync(path.join(tmpdir(), 'crucible-ds-test-'));
  process.env.STORAGE_DRIVER = 'local';
  process.env.STORAGE_DIR = storageDir;
}

export function dropTestStorage(): void {
  if (storageDir) rmSync(storageDir, { recursive: true, force: true });
}

type TUpload = {
  url: string;
  method: 'POST' | 'PUT';
  fields?: Record<string, string>;
  headers?: Record<string, string>;
};

/** Sends `bytes` to a presigned upload target; returns the HTTP status. */
async function sendToPresigned(target: TUpload, bytes: Uint8Array | string): Promise<number> {
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
