/**
 * Browser-test world: a fresh test database, the console built (if its sources changed) and started with
 * server.ts (Next.js behind the front door, as `npm start` runs it) on a free port against that database, the
 * housekeeping worker (dataset imports, model exports, billing accrual: the test files upload and export through
 * it), and Debian's Chromium launched through playwright-core as a browser server the test files connect to.
 * Everything is torn down in reverse order, even after a failed start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@crucible/db/testing';
import { type BrowserServer, chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';
import { consoleDir, ensureConsoleBuild, holdSessionLock, release, startConsole } from './console-server';

declare module 'vitest' {
  export interface ProvidedContext {
    baseURL: string;
    wsEndpoint: string;
    databaseUrl: string;
    resultsDir: string;
    /** The folder the local hub-shaped server serves repos from (`<owner>/<name>/`): a test publishes one there. */
    hubRoot: string;
  }
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// ENVIRONMENT.md "Browser tests": the flags Debian's Chromium needs here (no sandbox as root, no GPU, no network
// side-trips). playwright-core gives every launch a fresh temporary --user-data-dir of its own.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const repoRoot = path.resolve(consoleDir, '../..');

/** workers/housekeeping as `npm start` runs it; resolves once it logs "[housekeeping] ready". */
function startHousekeeping(env: NodeJS.ProcessEnv, log: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/housekeeping/src/main.ts'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(
      () => reject(new Error(`the housekeeping worker did not start:\n${log.join('')}`)),
      60_000,
    );
    const keep = (chunk: Buffer) => {
      log.push(chunk.toString());
      if (log.length > 500) log.shift();
      if (chunk.toString().includes('[housekeeping] ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the housekeeping worker exited with ${code}:\n${log.join('')}`));
    });
  });
}

/** SIGTERM (a graceful stop), SIGKILL after 10 s. */
function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export default async function setup(project: TestProject) {
  const cleanups: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error('[e2e] cleanup', error));
  };
  try {
    const lock = await holdSessionLock();
    cleanups.push(() => release(lock));
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', TURBO_TELEMETRY_DISABLED: '1' };
    await ensureConsoleBuild(env);

    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    // The instance as `npm start` leaves it: with the first-run demo model (in this run's storage).
    const previousUrl = process.env.DATABASE_URL;
    process.env.DATABASE_URL = database.url;
    const { seedDemoModel } = await import('@crucible/services/models');
    await seedDemoModel();
    const { disconnectAll } = await import('@crucible/db');
    await disconnectAll();
    if (previousUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previousUrl;

    // A local server laid out like Hugging Face and ModelScope (and a CDN origin): the housekeeping worker's hub
    // downloads ("Add base model") go there, as HF_ENDPOINT / MODELSCOPE_ENDPOINT point at it. Throttled so that a
    // download lasts long enough to watch its progress bar.
    const hubRoot = mkdtempSync(path.join(tmpdir(), 'crucible-e2e-hub-'));
    const { startLocalHub } = await import('@crucible/trainer/hub/local-hub');
    const hub = await startLocalHub(hubRoot, { bytesPerSecond: 4_000_000 });
    cleanups.push(async () => {
      await hub.close();
      rmSync(hubRoot, { recursive: true, force: true });
    });

    // The console as npm start runs it: Next.js behind the front door (server.ts), in production mode, with an
    // instance secret (production refuses to start without one) that the housekeeping worker shares, as npm start
    // hands one to every process (hub access tokens are encrypted with a key derived from it).
    const secret = randomBytes(32).toString('base64url');
    const server = await startConsole({ ...env, DATABASE_URL: database.url, BETTER_AUTH_SECRET: secret });
    cleanups.push(() => server.stop());
    const baseURL = server.baseURL;

    // The housekeeping worker as npm start runs it: imports and exports queued by any test file run here.
    const housekeepingLog: string[] = [];
    const housekeeping = await startHousekeeping(
      {
        ...env,
        DATABASE_URL: database.url,
        APP_URL: baseURL,
        BETTER_AUTH_SECRET: secret,
        HF_ENDPOINT: hub.url,
        MODELSCOPE_ENDPOINT: hub.url,
        HOUSEKEEPING_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'crucible-e2e-housekeeping-')),
      },
      housekeepingLog,
    );
    cleanups.push(() => stopWorker(housekeeping));

    const browser: BrowserServer = await chromium.launchServer({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    cleanups.push(() => browser.close());

    const resultsDir = path.join(consoleDir, 'test-results');
    mkdirSync(resultsDir, { recursive: true });
    project.provide('baseURL', baseURL);
    project.provide('wsEndpoint', browser.wsEndpoint());
    project.provide('databaseUrl', database.url);
    project.provide('resultsDir', resultsDir);
    project.provide('hubRoot', hubRoot);
    // The server's output is kept beside the screenshots: the first place to look when a browser test fails.
    cleanups.push(async () => writeFileSync(path.join(resultsDir, 'next-server.log'), server.log()));
    cleanups.push(async () =>
      writeFileSync(path.join(resultsDir, 'housekeeping-worker.log'), housekeepingLog.join('')),
    );
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
