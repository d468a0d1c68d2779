import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Browser tests: a real console (`next start`) on a fresh test database, driven by Debian's Chromium through
// playwright-core. Kept apart from the unit/API suite (`vitest.config.ts`) because it needs a production build.
// One Redis prefix per browser-test run, set before the global setup starts the console and before test workers
// fork (both inherit it): a trainer or serving worker of another run or of `npm start` on the default prefix must
// never take this run's jobs.
process.env.REDIS_PREFIX ??= `crucible-e2e-${process.pid}`;
// The browser tests run the console and the workers they start on the local storage driver, in a folder of their
// own (small upload parts, one folder the workers share). e2e/s3-uploads.test.ts starts a console of its own on the
// S3 driver and uploads from the page straight to the Ceph gateway the test script starts (the driver gives the
// bucket a CORS rule for the console's origin); the S3 driver itself is covered by the storage contract suite and the
// API integration tests, which run against Ceph.
process.env.STORAGE_DRIVER = 'local';
process.env.STORAGE_DIR ??= mkdtempSync(path.join(tmpdir(), 'crucible-e2e-storage-'));
// Model archives go up in 1 MiB parts (64 MiB in use), so the browser test's 5 MB archive takes several parts and
// its dropped connection leaves some stored and some missing. The local driver takes parts this small; S3 would not.
process.env.MODEL_UPLOAD_PART_BYTES ??= String(1024 * 1024);

export default defineConfig({
  // The root test script runs this config from the repository root: resolve paths from this folder.
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    // One browser, one server: test files run one after another.
    fileParallelism: false,
    testTimeout: 90_000,
    // expect.poll waits for what the page shows after its own requests: 1 s (vitest's default) was too short for a
    // page's fetch on a loaded 2-core machine (the billing totals read 0 for a moment in a CI run).
    expect: { poll: { timeout: 15_000, interval: 100 } },
    // The setup may have to run `next build` (about 1–4 min on a busy 2-core machine).
    hookTimeout: 600_000,
  },
});
