// `npm start`: the platform on one machine. Installs what is missing, checks Postgres and Redis, creates and
// migrates the database, builds the console, then runs the console (http://localhost:3000) and the trainer, serving
// and housekeeping workers with prefixed logs, restarting any of them that crashes (scripts/lib.mjs supervise). Ctrl-C stops all of them.
import {
  checkServices,
  DEFAULTS,
  ensureDependencies,
  ensureSecret,
  loadDotEnv,
  log,
  run,
  runQuiet,
  supervise,
} from './lib.mjs';

const env = { ...DEFAULTS, ...loadDotEnv(), ...process.env };
Object.assign(process.env, env, { TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' });
// Sessions and storage links are signed with the instance's own secret (.data/secret, made on first start).
process.env.BETTER_AUTH_SECRET = ensureSecret(process.env);

await checkServices(env);
ensureDependencies();

// The client is generated at install, but a schema changed since then would leave it stale: 2 s, always run.
runQuiet('npm', ['run', 'db:generate', '-w', '@crucible/db'], 'database client generated');
runQuiet('npm', ['run', 'db:migrate', '-w', '@crucible/db'], (out) => {
  const applied = out
    .match(/The following migration\(s\) have been applied:[\s\S]*?(?=\n\n|$)/)?.[0]
    .match(/migration\.sql/g);
  return `database ${new URL(env.DATABASE_URL).pathname.slice(1)} migrated (${applied ? `${applied.length} applied` : 'up to date'})`;
});
// The first-run demo model (a small random Qwen2 every workspace can fine-tune offline); kept once made.
runQuiet('npx', ['crucible', 'models', 'seed-demo'], (out) => out.trim().split('\n').at(-1));

// The console's production build: turbo skips it when nothing changed since the last one. Only the console itself
// is built (the packages' type-checks are `npm run typecheck`'s), with Next.js's own progress shown.
log('building the console (the first time takes a few minutes on 2 cores; later starts reuse the build)');
run('npx', ['turbo', 'run', 'build', '--filter=@crucible/console', '--only', '--output-logs=new-only']);

const port = process.env.PORT ?? '3000';
const platform = supervise([
  { name: 'console', color: '35', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/console', '--', '-p', port] },
  { name: 'trainer', color: '33', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/worker-trainer'] },
  { name: 'serving', color: '32', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/worker-serving'] },
  // dataset imports, model exports, billing accrual and budget e-mails
  { name: 'housekeeping', color: '36', cmd: 'npm', args: ['run', 'start', '-w', '@crucible/worker-housekeeping'] },
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
