// `npm start`: the platform on one machine. Installs what is missing, checks Postgres and Redis, creates and
// migrates the database, builds the console, then runs the console (http://localhost:3000) and both workers with
// prefixed logs, restarting any of them that crashes (scripts/lib.mjs supervise). Ctrl-C stops all of them.
import { checkServices, DEFAULTS, ensureDependencies, ensureSecret, loadDotEnv, log, run, supervise } from './lib.mjs';

const env = { ...DEFAULTS, ...loadDotEnv(), ...process.env };
Object.assign(process.env, env, { TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' });
// Sessions and storage links are signed with the instance's own secret (.data/secret, made on first start).
process.env.BETTER_AUTH_SECRET = ensureSecret(process.env);

await checkServices(env);
ensureDependencies();

// The client is generated at install, but a schema changed since then would leave it stale: 2 s, always run.
run('npm', ['run', 'db:generate', '-w', '@crucible/db']);
log('migrating the database');
run('npm', ['run', 'db:migrate', '-w', '@crucible/db']);
// The first-run demo model (a small random Qwen2 every workspace can fine-tune offline); kept once made.
run('npx', ['crucible', 'models', 'seed-demo']);

log('building the console');
run('npx', ['turbo', 'run', 'build', '--filter=@crucible/console', '--output-logs=errors-only']);

const port = process.env.PORT ?? '3000';
const platform = supervise([
  { name: 'console', color: '35', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/console', '--', '-p', port] },
  { name: 'trainer', color: '33', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/worker-trainer'] },
  { name: 'serving', color: '32', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/worker-serving'] },
]);
log(`console on http://localhost:${port} (Ctrl-C stops everything)`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${signal})`);
  await platform.stop('SIGTERM');
  process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
