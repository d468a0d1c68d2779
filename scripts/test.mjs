// `npm test`: everything from a fresh machine to a verdict. Installs dependencies (which builds the native tensor
// addon and generates the Prisma client), installs and starts what the machine lacks (Ceph's S3 gateway, Chromium),
// migrates a fresh test database template, runs lint and the type-check, then every package's tests and the browser
// tests against the real Postgres, Redis and S3. Prints one closing line
// "tests: N passed, N failed, N skipped; lint ok, typecheck ok", with a "FAILED file > test: reason" line above it
// for each failure.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { capture, checkServices, DEFAULTS, ensureDependencies, fail, log, parseEnv, ROOT, run } from './lib.mjs';

const started = Date.now();
const env = { ...DEFAULTS, ...process.env };
process.env.TURBO_TELEMETRY_DISABLED = '1';
process.env.NEXT_TELEMETRY_DISABLED = '1';

await checkServices(env);
ensureDependencies();
run('npm', ['run', 'db:generate', '-w', '@crucible/db']);

// Chromium for the browser tests comes from Debian (a test tool's own browser download cannot work here).
if (!existsSync('/usr/bin/chromium')) {
  log('installing Chromium from Debian (apt-get install chromium)');
  run('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null']);
}

// The real S3 server: a single-node Ceph RADOS Gateway (MinIO cannot be installed here; see ENVIRONMENT.md).
let startedS3 = false;
if (!process.env.S3_ENDPOINT && process.env.CRUCIBLE_TEST_S3 !== '0') {
  const status = capture('bash', ['scripts/services/s3.sh', 'status']);
  if (status.status !== 0) {
    log('starting the S3 server (Ceph RADOS Gateway)');
    run('bash', ['scripts/services/s3.sh', 'start']);
    startedS3 = true;
  }
  Object.assign(process.env, parseEnv(capture('bash', ['scripts/services/s3.sh', 'env']).stdout));
}
if (!process.env.S3_ENDPOINT && process.env.CI) fail('CI must run the S3 contract tests, but no S3 endpoint came up.');

process.env.DATABASE_URL = env.DATABASE_URL;
process.env.REDIS_URL = env.REDIS_URL;

const results = path.join(ROOT, 'test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

// The checks CI must not skip (issue 17): lint (biome, and knip for exports nothing imports) and the type-check of
// every package. The browser tests build the console without type-checking it, so this is where a type error is caught.
const checks = [];
for (const [name, args] of [
  ['lint', ['run', 'lint']],
  ['typecheck', ['run', 'typecheck', '--', '--output-logs=errors-only']],
]) {
  log(`running ${name}`);
  checks.push({ name, ok: run('npm', args, { allowFail: true }) === 0 });
}

const suites = [
  {
    name: 'unit + integration',
    args: ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${results}/vitest.json`],
  },
  {
    name: 'browser',
    args: [
      'vitest',
      'run',
      '-c',
      'apps/console/vitest.e2e.config.ts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile=${results}/e2e.json`,
    ],
  },
];

let codes = 0;
for (const suite of suites) {
  log(`running ${suite.name} tests`);
  codes |= run('npx', suite.args, { allowFail: true }) === 0 ? 0 : 1;
}

if (startedS3 && !process.env.CRUCIBLE_KEEP_SERVICES)
  run('bash', ['scripts/services/s3.sh', 'stop'], { allowFail: true });

let passed = 0;
let failed = 0;
let skipped = 0;
// What failed, printed last (just above the summary) so that the tail of a CI log names it.
const failures = [];
for (const file of ['vitest.json', 'e2e.json']) {
  const p = path.join(results, file);
  if (!existsSync(p)) {
    failed += 1; // a suite that wrote no report did not run: count it against us rather than hide it
    continue;
  }
  const r = JSON.parse(readFileSync(p, 'utf8'));
  passed += r.numPassedTests ?? 0;
  // Failed tests are counted once (a failed test also marks its file failed); a file that failed with no failed
  // test in it (an import error) or a run that errored outside any test (a global setup that threw) counts as one.
  failed += r.numFailedTests ?? 0;
  if (!r.numFailedTests && (r.numFailedTestSuites || r.success === false))
    failed += Math.max(1, r.numFailedTestSuites ?? 0);
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  for (const f of r.testResults ?? []) {
    const file = path.relative(ROOT, f.name ?? '');
    const tests = (f.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of tests) failures.push(`${file} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (!tests.length && f.status === 'failed') failures.push(`${file}: ${firstLine(f.message)}`);
  }
}
log(`finished in ${Math.round((Date.now() - started) / 1000)} s`);
for (const f of failures) process.stdout.write(`FAILED ${f}\n`);
const checked = checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ');
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped; ${checked}\n`);
process.exit(codes !== 0 || failed > 0 || passed === 0 || checks.some((c) => !c.ok) ? 1 : 0);

function firstLine(text) {
  return (
    String(text ?? '')
      .split('\n')
      .find((l) => l.trim()) ?? ''
  );
}
