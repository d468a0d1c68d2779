// `npm start`: the platform on one machine. Installs what is missing, checks Postgres and Redis, creates and
// migrates the database, builds the console, then runs the console (http://localhost:3000) and both workers with
// prefixed logs. Ctrl-C stops all of them.
import { checkServices, DEFAULTS, ensureDependencies, loadDotEnv, log, run, startPrefixed } from './lib.mjs';

const env = { ...DEFAULTS, ...loadDotEnv(), ...process.env };
Object.assign(process.env, env, { TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' });

await checkServices(env);
ensureDependencies();

// The client is generated at install, but a schema changed since then would leave it stale: 2 s, always run.
run('npm', ['run', 'db:generate', '-w', '@crucible/db']);
log('migrating the database');
run('npm', ['run', 'db:migrate', '-w', '@crucible/db']);

log('building the console');
run('npx', ['turbo', 'run', 'build', '--filter=@crucible/console', '--output-logs=errors-only']);

const port = process.env.PORT ?? '3000';
const children = [
  startPrefixed('console', '35', 'npm', ['run', 'start', '-w', '@crucible/console', '--', '-p', port]),
  startPrefixed('trainer', '33', 'npm', ['run', 'start', '-w', '@crucible/worker-trainer']),
  startPrefixed('serving', '32', 'npm', ['run', 'start', '-w', '@crucible/worker-serving']),
];
log(`console on http://localhost:${port} (Ctrl-C stops everything)`);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${signal})`);
  // Each child leads its own process group: signal the group so npm's grandchildren (next, tsx) stop too.
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
  setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
    process.exit(0);
  }, 15_000).unref();
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

// npm exits before its grandchildren (next, tsx workers) finish closing: wait for each whole process group.
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
for (const child of children) {
  child.on('exit', (code) => {
    if (!stopping) {
      log(`a process exited (code ${code}); stopping the others`);
      stop('child exit');
    }
  });
}
const poll = setInterval(() => {
  if (stopping && children.every((c) => !groupAlive(c.pid))) {
    clearInterval(poll);
    process.exit(0);
  }
}, 250);
