// Node wrapper around s3.sh for the root scripts (scripts/test.mjs, scripts/start.mjs):
//
//   import { startS3, stopS3 } from './services/s3.mjs';
//   const s3Env = await startS3();          // installs Ceph if missing, starts it (idempotent), returns its env
//   Object.assign(process.env, s3Env);      // S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY
//   ...run the tests...
//   await stopS3();                          // optional: frees ~250 MB of RAM
//
// s3.sh's progress lines go to this process's stderr; only the env lines are parsed.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 's3.sh');

function run(command) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, command], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`bash scripts/services/s3.sh ${command} exited with ${code}`)),
    );
  });
}

/** `KEY=value` lines -> { KEY: 'value' }. */
export function parseEnvLines(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

export async function startS3() {
  const env = parseEnvLines(await run('start'));
  if (!env.S3_ENDPOINT) throw new Error('s3.sh start printed no S3_ENDPOINT');
  return env;
}

export async function stopS3() {
  await run('stop');
}

export async function s3Running() {
  try {
    await run('status');
    return true;
  } catch {
    return false;
  }
}
