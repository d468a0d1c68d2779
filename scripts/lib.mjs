// Helpers shared by `npm start` and `npm test`. Plain Node (no dependencies): these scripts run before
// `npm install` has put anything in node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function log(msg) {
  process.stderr.write(`\x1b[36m[crucible]\x1b[0m ${msg}\n`);
}

export function fail(msg) {
  process.stderr.write(`\x1b[31m[crucible] ${msg}\x1b[0m\n`);
  process.exit(1);
}

/** Runs a command to completion with inherited stdio; exits the script with a sentence when it fails. */
export function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts, env: { ...process.env, ...opts.env } });
  if (res.status !== 0 && !opts.allowFail) fail(`'${cmd} ${args.join(' ')}' failed (exit ${res.status}).`);
  return res.status ?? 1;
}

export function capture(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', ...opts, env: { ...process.env, ...opts.env } });
  return { status: res.status ?? 1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** npm install only when node_modules is missing or older than the lockfile (CI always gets a clean `npm ci`). */
export function ensureDependencies() {
  const marker = path.join(ROOT, 'node_modules/.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  if (process.env.CI) {
    log('installing dependencies (npm ci)');
    run('npm', ['ci', '--no-audit', '--no-fund']);
    return;
  }
  if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs)) {
    log('installing dependencies (npm install)');
    run('npm', ['install', '--no-audit', '--no-fund']);
  }
}

export function canConnect(url, defaultPort) {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || defaultPort);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export const DEFAULTS = Object.freeze({
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/crucible',
  REDIS_URL: 'redis://127.0.0.1:6379',
});

/** Postgres and Redis are the machine's services: say how to start them rather than trying to. */
export async function checkServices(env) {
  if (!(await canConnect(env.DATABASE_URL, 5432))) {
    fail(
      `PostgreSQL does not answer at ${env.DATABASE_URL}.\n  Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n  or set DATABASE_URL.`,
    );
  }
  if (!(await canConnect(env.REDIS_URL, 6379))) {
    fail(
      `Redis does not answer at ${env.REDIS_URL}.\n  Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n  or set REDIS_URL.`,
    );
  }
}

/** Reads KEY=VALUE lines (a .env file or a script's output). */
export function parseEnv(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
  return out;
}

export function loadDotEnv() {
  const file = path.join(ROOT, '.env');
  return existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
}

/** Starts a long-running child whose output lines are prefixed with its name. */
export function startPrefixed(name, color, cmd, args, opts = {}) {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const prefix = `\x1b[${color}m${name.padEnd(8)}|\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.on('data', (chunk) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  return child;
}
