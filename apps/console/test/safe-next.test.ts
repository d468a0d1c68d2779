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
    // Browsers read "\\" as "/" and drop tabs and newlines: each of these would leave the site.
    ['/\\evil.example/x', '/'],
    ['/\\/evil.example', '/'],
    ['\\\\evil.example', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['', '/'],
    [undefined, '/'],
  ])('%s -> %s', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it('uses the given fallback', () => {
    expect(safeNext(null, '/onboarding')).toBe('/onboarding');
  });
});
