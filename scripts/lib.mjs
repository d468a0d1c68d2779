// Helpers shared by `npm start` and `npm test`. Plain Node (no dependencies): these scripts run before
// `npm install` has put anything in node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

/**
 * Runs a command whose output only matters when it fails (Prisma's banners, tips and warnings on every start): on
 * success prints `done` (one line), on failure the whole output and exits with a sentence.
 */
export function runQuiet(cmd, args, done, opts = {}) {
  const res = capture(cmd, args, opts);
  if (res.status !== 0) {
    process.stderr.write(res.stdout + res.stderr);
    fail(`'${cmd} ${args.join(' ')}' failed (exit ${res.status}).`);
  }
  if (done) log(typeof done === 'function' ? done(res.stdout + res.stderr) : done);
  return res;
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

function canConnect(url, defaultPort) {
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

/** The settings file `npm start` and `npx crucible` read: the repository's .env (CRUCIBLE_DOTENV names another). */
export function loadDotEnv(file = process.env.CRUCIBLE_DOTENV || path.join(ROOT, '.env')) {
  return existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
}

/** Starts a long-running child whose output lines are prefixed with its name. */
function startPrefixed(name, color, cmd, args, opts = {}) {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const prefix = `\x1b[${color}m${name.padEnd(12)}|\x1b[0m `;
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

/**
 * The instance secret (sessions, storage links): BETTER_AUTH_SECRET when set, else the one kept in .data/secret,
 * made on first start (48 random bytes, file mode 0600, folder 0700). Nothing that ships signs with a known value.
 */
export function ensureSecret(env = process.env, dir = path.join(ROOT, '.data')) {
  if (env.BETTER_AUTH_SECRET) return env.BETTER_AUTH_SECRET;
  const file = path.join(dir, 'secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
    fail(`${file} holds no usable secret (under 32 characters); delete it to make a new one.`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  log(`made the instance secret ${path.relative(ROOT, file)} (keep it private; sessions end if it changes)`);
  return secret;
}

/**
 * Runs long-lived children and keeps them running: a child that exits on its own (a crash, kill -9, out of memory)
 * is restarted after a backoff that doubles from 1 s to 30 s (back to 1 s once it has stayed up a minute), and the
 * others are left alone — one crashed worker never takes the console down. `stop()` ends them all (SIGTERM to each
 * process group, SIGKILL after graceMs) and resolves when every group is gone.
 *
 * specs: [{ name, color, cmd, args, env? }]. onExit(name, how) is told about every unplanned exit.
 */
export function supervise(specs, opts = {}) {
  const say = opts.log ?? log;
  const graceMs = opts.graceMs ?? 15_000;
  const minBackoffMs = opts.minBackoffMs ?? 1_000;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const stableMs = opts.stableMs ?? 60_000;
  let stopping = false;
  const slots = specs.map((spec) => ({
    spec,
    child: null,
    startedAt: 0,
    backoffMs: minBackoffMs,
    timer: null,
    restarts: 0,
  }));

  const start = (slot) => {
    const { spec } = slot;
    slot.startedAt = Date.now();
    slot.child = startPrefixed(spec.name, spec.color ?? '37', spec.cmd, spec.args, { env: spec.env });
    slot.child.on('exit', (code, signal) => {
      if (stopping) return;
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      if (Date.now() - slot.startedAt > stableMs) slot.backoffMs = minBackoffMs;
      const wait = slot.backoffMs;
      slot.backoffMs = Math.min(maxBackoffMs, slot.backoffMs * 2);
      slot.restarts += 1;
      say(`${spec.name} ${how}; restarting it in ${Math.round(wait / 100) / 10} s (the others keep running)`);
      opts.onExit?.(spec.name, how);
      // The old process group may still hold children (npm -> tsx -> node): end it before starting again.
      killGroup(slot.child.pid, 'SIGKILL');
      slot.timer = setTimeout(() => {
        slot.timer = null;
        if (!stopping) start(slot);
      }, wait);
    });
  };
  for (const slot of slots) start(slot);

  const stop = (signal = 'SIGTERM') => {
    if (stopping) return done;
    stopping = true;
    for (const slot of slots) {
      if (slot.timer) clearTimeout(slot.timer);
      killGroup(slot.child?.pid, signal);
    }
    return done;
  };
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  const poll = setInterval(() => {
    if (!stopping) return;
    if (slots.every((s) => !groupAlive(s.child?.pid))) {
      clearInterval(poll);
      resolveDone();
    }
  }, 250);
  poll.unref?.();
  const forceAfter = () =>
    setTimeout(() => {
      for (const slot of slots) killGroup(slot.child?.pid, 'SIGKILL');
    }, graceMs).unref();
  return {
    /** The running child of a spec (its pid changes on each restart). */
    child: (name) => slots.find((s) => s.spec.name === name)?.child ?? null,
    restarts: (name) => slots.find((s) => s.spec.name === name)?.restarts ?? 0,
    stop: (signal) => {
      const p = stop(signal);
      forceAfter();
      return p;
    },
  };
}

/** Each child leads its own process group: signal the group so npm's grandchildren (next, tsx) get it too. */
function killGroup(pid, signal) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {}
}

function groupAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
