/**
 * Browser uploads straight to a real S3 server (Ceph RGW): the console's pages send files to presigned S3 targets,
 * cross-origin, so the bucket needs a CORS rule for the console's origin — which the S3 driver now sets on a bucket
 * without one. The other browser tests run on the local driver; this file starts a second console (server.ts, as
 * `npm start` runs it) on the S3 driver with a bucket of its own, and uploads a model archive in 5 MiB parts (S3's
 * smallest) from the "Add base model" dialog: every part is PUT from the page to Ceph (XMLHttpRequest with upload
 * progress, so the browser asks Ceph first; without the rule the page sees the part fail).
 */

import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createS3Storage } from '@crucible/storage';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot } from './browser';
import { startConsole } from './console-server';
import { signUpWithWorkspace } from './flows';

const endpoint = process.env.S3_ENDPOINT;
const bucket = `crucible-e2e-${randomUUID().slice(0, 8)}`;
const s3 = {
  endpoint: endpoint ?? '',
  region: process.env.S3_REGION || 'us-east-1',
  accessKey: process.env.S3_ACCESS_KEY ?? '',
  secretKey: process.env.S3_SECRET_KEY ?? '',
  bucket,
};
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-e2e-s3-'));
let consoleServer: Awaited<ReturnType<typeof startConsole>> | undefined;
let browser: Browser;

beforeAll(async () => {
  if (!endpoint) return;
  consoleServer = await startConsole({
    ...process.env,
    DATABASE_URL: inject('databaseUrl'),
    STORAGE_DRIVER: 's3',
    S3_BUCKET: bucket,
    MODEL_UPLOAD_PART_BYTES: String(5 * 1024 * 1024),
    // No worker of this run takes what this console enqueues ("Add base model" after the upload): the test is the upload.
    REDIS_PREFIX: `crucible-e2e-s3-${process.pid}`,
  });
  browser = await openBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await consoleServer?.stop();
  rmSync(scratch, { recursive: true, force: true });
  if (!endpoint) return;
  const storage = createS3Storage(s3);
  await storage.deleteObjects((await storage.listObjects('')).map((o) => o.key)).catch(() => undefined);
  await storage.client.removeBucket(bucket).catch(() => undefined);
});

describe.runIf(endpoint || process.env.CI)('browser uploads to S3', () => {
  it('uploads a model archive in parts from the page straight to Ceph, across origins', {
    timeout: 180_000,
  }, async () => {
    expect(endpoint, 'CI runs the browser tests with the S3 server the test script starts').toBeTruthy();
    const { context, page } = await newPage(browser, { baseURL: consoleServer?.baseURL });
    onTestFailed(async () => {
      await screenshot(page, 'failure-s3-upload').catch(() => undefined);
      console.error(`--- console output ---\n${consoleServer?.log()}`);
    });
    const stamp = Date.now();
    const slug = `s3-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `s3+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'S3 uploads', slug },
    );
    // 6 MiB in a .tar: a 5 MiB part and the rest.
    mkdirSync(path.join(scratch, 'model'));
    writeFileSync(path.join(scratch, 'model', 'weights.bin'), randomBytes(6 * 1024 * 1024));
    const archive = path.join(scratch, 'model.tar');
    execFileSync('tar', ['-cf', archive, '-C', scratch, 'model']);
    const size = statSync(archive).size;

    const s3Origin = new URL(endpoint as string).origin;
    const puts: number[] = [];
    page.on('response', (r) => {
      if (r.request().method() === 'PUT' && new URL(r.url()).origin === s3Origin) puts.push(r.status());
    });
    const failed: string[] = [];
    page.on('requestfailed', (r) => {
      if (new URL(r.url()).origin === s3Origin) failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
    });

    await page.goto(`/w/${slug}/models`);
    await page.getByRole('button', { name: 'Add base model' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('tab', { name: 'Upload archive' }).click();
    await dialog.locator('input[type=file]').setInputFiles(archive);
    await dialog.getByLabel('Name', { exact: true }).fill('from-s3');
    await dialog.getByRole('button', { name: 'Add model' }).click();
    // The dialog closes once the archive is joined; a refused part stops the upload with a message in it instead.
    const stopped = dialog.getByText(/The upload stopped/);
    await Promise.race([
      dialog.waitFor({ state: 'detached', timeout: 120_000 }),
      stopped.waitFor({ timeout: 120_000 }).then(async () => {
        throw new Error(`the upload stopped: ${await stopped.textContent()}; ${failed.join('; ')}`);
      }),
    ]);
    expect(failed).toEqual([]);
    // Two parts went from the page to Ceph, each answered 200.
    expect(puts).toEqual([200, 200]);
    // The joined archive is in the bucket, byte for byte the size of the file.
    const objects = await createS3Storage(s3).listObjects('');
    expect(objects.filter((o) => o.key.endsWith('model.tar')).map((o) => o.size)).toEqual([size]);
    await context.close();
  });
});
