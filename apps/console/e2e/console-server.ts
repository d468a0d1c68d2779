/**
 * The console as `npm start` runs it, for the browser tests and the gateway bench: its production build (rebuilt
 * when its sources changed) and server.ts (Next.js behind the front door) started on a free port. One user of the
 * build folder at a time per checkout (the session lock).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const consoleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(consoleDir, '../..');
const nextBin = path.join(repoRoot, 'node_modules/next/dist/bin/next');
/** The tests' own build folder (next.config.ts reads CRUCIBLE_NEXT_DIST_DIR). */
const DIST_DIR = '.next-e2e';

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
  '../../packages/services/src',
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

function stopChild(child: ChildProcess | undefined): Promise<void> {
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
export async function holdSessionLock(): Promise<ChildProcess> {
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

export function release(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    holder.once('exit', () => resolve());
    holder.stdin?.end();
  });
}

/** Builds the console into DIST_DIR when its sources changed (or E2E_REBUILD=1), without the type check. */
export async function ensureConsoleBuild(env: NodeJS.ProcessEnv): Promise<void> {
  if (process.env.E2E_REBUILD === '1' || buildIsStale()) {
    console.log(`[console] building the console into ${DIST_DIR} (next build)…`);
    await buildKeepingTypeFiles({ ...env, CRUCIBLE_NEXT_DIST_DIR: DIST_DIR, CRUCIBLE_SKIP_TYPECHECK: '1' });
  }
}

/**
 * server.ts in production mode on a free port with `env` (DATABASE_URL and the rest), an instance secret of its own
 * unless `env` gives one;
 * resolves once it answers. `log()` holds its last output lines for error messages.
 */
export async function startConsole(env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--import', 'tsx', 'server.ts', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: consoleDir,
    env: {
      ...env,
      NEXT_TELEMETRY_DISABLED: '1',
      CRUCIBLE_NEXT_DIST_DIR: DIST_DIR,
      NODE_ENV: 'production',
      PORT: String(port),
      APP_URL: baseURL,
      // The caller's, when the workers it starts must share it (they decrypt what the console encrypts).
      BETTER_AUTH_SECRET: env.BETTER_AUTH_SECRET || randomBytes(32).toString('base64url'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Server output only matters when something fails; keep the last lines for the error message.
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(chunk.toString());
    if (lines.length > 500) lines.shift();
  };
  server.stdout?.on('data', keep);
  server.stderr?.on('data', keep);
  const log = () => lines.join('');
  try {
    await waitForServer(`${baseURL}/sign-in`, server, 60_000);
  } catch (error) {
    await stopChild(server);
    throw new Error(`${(error as Error).message}\n--- console output ---\n${log()}`);
  }
  return { baseURL, child: server, log, stop: () => stopChild(server) };
}
