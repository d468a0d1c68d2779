// @vitest-environment node
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readAuthEnv } from '@crucible/auth';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSecret } from '../../../scripts/lib.mjs';

/** No secret ships with the source (issue 11, finding 2). */
describe('the instance secret', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'crucible-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm start makes one on first start, private to its owner, and keeps it', () => {
    const first = ensureSecret({}, path.join(dir, '.data'));
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir, '.data', 'secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(ensureSecret({}, path.join(dir, '.data'))).toBe(first);
    // BETTER_AUTH_SECRET, when given, wins.
    expect(ensureSecret({ BETTER_AUTH_SECRET: 'x'.repeat(40) }, path.join(dir, '.data'))).toBe('x'.repeat(40));
  });

  it('sessions are never signed with a constant: random per process without one, refused in production', () => {
    const a = readAuthEnv({ NODE_ENV: 'development' } as NodeJS.ProcessEnv).BETTER_AUTH_SECRET;
    expect(a).not.toMatch(/crucible-dev-secret/);
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(() => readAuthEnv({ NODE_ENV: 'production' } as NodeJS.ProcessEnv)).toThrow(
      /BETTER_AUTH_SECRET is required in production/,
    );
    expect(
      readAuthEnv({ NODE_ENV: 'production', BETTER_AUTH_SECRET: 'y'.repeat(40) } as NodeJS.ProcessEnv),
    ).toMatchObject({
      BETTER_AUTH_SECRET: 'y'.repeat(40),
    });
  });
});
