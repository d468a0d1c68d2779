import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRedisConnection, readWorkerHeartbeats } from '@crucible/jobs';
import { dropPrefix } from '@crucible/jobs/testing';
import { afterAll, expect, it } from 'vitest';
import { supervise } from '../../../scripts/lib.mjs';

/**
 * `npm start`'s supervision with real processes (issue 11, finding 3): kill -9 of the trainer worker must not stop
 * the console, and the trainer must come back, with the dead one's heartbeat gone rather than shown as running.
 */

const redis = createRedisConnection();
const prefix = `crucible-test-sup-${randomUUID().slice(0, 8)}`;
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

async function until<T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('restarts a worker killed with -9 while the console keeps running, and forgets the dead one', async () => {
  const lines: string[] = [];
  const platform = supervise(
    [
      // The console's place: any long-running process; what matters is that it is left alone.
      { name: 'console', cmd: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
      {
        name: 'trainer',
        cmd: process.execPath,
        args: ['--import', 'tsx', main],
        env: { REDIS_PREFIX: prefix, TRAINER_SHUTDOWN_GRACE_MS: '2000' },
      },
    ],
    { log: (m: string) => lines.push(m), minBackoffMs: 200, graceMs: 5_000 },
  );
  try {
    const beats = () => readWorkerHeartbeats({ prefix, redis, kind: 'trainer' });
    const first = await until('the trainer heartbeat', async () => (await beats())[0]);
    const consolePid = platform.child('console').pid as number;
    expect(first.pid).toBe(platform.child('trainer').pid);

    process.kill(first.pid, 'SIGKILL');
    const second = await until('a new trainer', async () => (await beats()).find((b) => b.pid !== first.pid));
    expect(second.state).toBe('running');
    // The dead worker's heartbeat is removed by the new one at boot, not left to say "running" until its TTL.
    expect((await beats()).map((b) => b.pid)).toEqual([second.pid]);
    expect(platform.restarts('trainer')).toBe(1);
    expect(platform.restarts('console')).toBe(0);
    expect(platform.child('console').pid).toBe(consolePid);
    expect(() => process.kill(consolePid, 0)).not.toThrow();
    expect(lines.join('\n')).toMatch(
      /trainer was killed \(SIGKILL\); restarting it in 0\.2 s \(the others keep running\)/,
    );
  } finally {
    await platform.stop('SIGTERM');
  }
  expect(await readWorkerHeartbeats({ prefix, redis, kind: 'trainer' })).toEqual([]);
}, 90_000);
