/**
 * Browser-test world: a fresh test database, the console built (if its sources changed) and started with
 * server.ts (Next.js behind the front door, as `npm start` runs it) on a free port against that database, the
 * housekeeping worker (dataset imports, model exports, billing accrual: every test file uploads or exports through
 * it), and Debian's Chromium launched through playwright-core as a browser server the test files connect to. Everything is torn down in reverse order, even after a failed start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@crucible/db/testing';
import { type BrowserServer, chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    baseURL: string;
    wsEndpoint: string;
    databaseUrl: string;
    resultsDir: string;
  }
}

const consoleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(consoleDir, '../..');
const nextBin = path.join(repoRoot, 'node_modules/next/dist/bin/next');
/** The tests' own build folder (next.config.ts reads CRUCIBLE_NEXT_DIST_DIR). */
const DIST_DIR = '.next-e2e';

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

// What a production build depends on: when any of these is newer than .next/BUILD_ID, we rebuild.
const BUILD_INPUTS = [
  'app',
  'components',
  'lib',
  'messages',
  'proxy.ts',
  'server.ts',
  'next.config.ts',
  'postcss.config.mjs',
  'package.json',
  '../../packages/auth/src',
  '../../packages/db/src',
  '../../packages/jobs/src',
  '../../packages/storage/src',
  '../../packages/billing/src',
  '../../packages/datasets/src',
  '../../packages/dataset-store/src',
];

function newestMtime(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  }
  return newest;
}

function buildIsStale(): boolean {
  const buildId = path.join(consoleDir, DIST_DIR, 'BUILD_ID');
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return BUILD_INPUTS.some((input) => newestMtime(path.join(consoleDir, input)) > built);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: consoleDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

/**
 * `next build` rewrites next-env.d.ts and tsconfig.json to point at its distDir; those files are committed with
 * .next, so we put them back after building into .next-e2e.
 */
async function buildKeepingTypeFiles(env: NodeJS.ProcessEnv): Promise<void> {
  const files = ['next-env.d.ts', 'tsconfig.json'].map((name) => path.join(consoleDir, name));
  const saved = files.map((file) => (existsSync(file) ? readFileSync(file, 'utf8') : null));
  try {
    await run(process.execPath, [nextBin, 'build'], env);
  } finally {
    files.forEach((file, i) => {
      const content = saved[i];
      if (content !== null && content !== undefined && readFileSync(file, 'utf8') !== content)
        writeFileSync(file, content);
    });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForServer(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the console exited with ${child.exitCode} before answering`);
    try {
      const response = await fetch(url, { redirect: 'manual' });
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the console did not answer ${url} within ${timeoutMs / 1000} s`);
}

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

const mkdtempCache = () => mkdtempSync(path.join(tmpdir(), 'crucible-e2e-housekeeping-'));

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * One browser-test session per checkout at a time: a second run would rebuild .next-e2e under the first one's
 * server. `flock -F` (util-linux) takes the lock and execs `cat`, which holds it until our end of its stdin closes —
 * at teardown, or when this process dies in any way — so a killed run can never leave the lock held.
 */
async function holdSessionLock(): Promise<ChildProcess> {
  const lockFile = path.join(consoleDir, '.e2e-session.lock');
  const holder = spawn('flock', ['-x', '-F', lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const waiting = setTimeout(() => console.log('[e2e] waiting for another browser-test run to finish…'), 2000);
    holder.on('error', reject);
    holder.on('exit', (code) => reject(new Error(`flock exited with ${code}`)));
    holder.stdout?.once('data', () => {
      clearTimeout(waiting);
      resolve();
    });
  });
  holder.removeAllListeners('exit');
  return holder;
}

function release(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    holder.once('exit', () => resolve());
    holder.stdin?.end();
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
    const env = {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      TURBO_TELEMETRY_DISABLED: '1',
      CRUCIBLE_NEXT_DIST_DIR: DIST_DIR,
    };
    if (process.env.E2E_REBUILD === '1' || buildIsStale()) {
      console.log(`[e2e] building the console into ${DIST_DIR} (next build)…`);
      await buildKeepingTypeFiles({ ...env, CRUCIBLE_SKIP_TYPECHECK: '1' });
    }

    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    // The instance as `npm start` leaves it: with the first-run demo model (in this run's storage).
    const previousUrl = process.env.DATABASE_URL;
    process.env.DATABASE_URL = database.url;
    const { seedDemoModel } = await import('@crucible/cli/models/import');
    await seedDemoModel();
    const { disconnectAll } = await import('@crucible/db');
    await disconnectAll();
    if (previousUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previousUrl;

    const port = await freePort();
    const baseURL = `http://127.0.0.1:${port}`;
    // The console as npm start runs it: Next.js behind the front door (server.ts), in production mode, with an
    // instance secret of its own (production refuses to start without one).
    const server = spawn(process.execPath, ['--import', 'tsx', 'server.ts', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: consoleDir,
      env: {
        ...env,
        NODE_ENV: 'production',
        PORT: String(port),
        APP_URL: baseURL,
        DATABASE_URL: database.url,
        BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Server output only matters when something fails; keep the last lines for the error message.
    const log: string[] = [];
    const keep = (chunk: Buffer) => {
      log.push(chunk.toString());
      if (log.length > 500) log.shift();
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    cleanups.push(() => stop(server));
    try {
      await waitForServer(`${baseURL}/sign-in`, server, 60_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- console output ---\n${log.join('')}`);
    }

    // The housekeeping worker as npm start runs it: imports and exports queued by any test file run here.
    const housekeepingLog: string[] = [];
    const housekeeping = await startHousekeeping(
      { ...env, DATABASE_URL: database.url, APP_URL: baseURL, HOUSEKEEPING_CACHE_DIR: mkdtempCache() },
      housekeepingLog,
    );
    cleanups.push(() => stop(housekeeping));

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
    // The server's output is kept beside the screenshots: the first place to look when a browser test fails.
    cleanups.push(async () => writeFileSync(path.join(resultsDir, 'next-server.log'), log.join('')));
    cleanups.push(async () =>
      writeFileSync(path.join(resultsDir, 'housekeeping-worker.log'), housekeepingLog.join('')),
    );
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
