import { describe, expect, it } from 'vitest';
import { safeNext } from '../lib/safe-next';

// Regression guard against an open redirect: `?next=` after sign-in must stay on this site.
describe('safeNext', () => {
  it.each([
    ['/invite/abc', '/invite/abc'],
    ['/w/acme/datasets?tab=x', '/w/acme/datasets?tab=x'],
    ['//evil.example/path', '/'],
    ['https://evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['', '/'],
    [undefined, '/'],
  ])('%s -> %s', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it('uses the given fallback', () => {
    expect(safeNext(null, '/onboarding')).toBe('/onboarding');
  });
});
