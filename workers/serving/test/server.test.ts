import { networkInterfaces } from 'node:os';
import { expect, it } from 'vitest';
import { advertisedHost } from '../src/server';

it('advertises the bind address, or this machine’s own IPv4 address when bound to every interface', () => {
  expect(advertisedHost('127.0.0.1')).toBe('127.0.0.1');
  expect(advertisedHost('::1')).toBe('[::1]');
  const own = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a?.address);
  for (const any of ['0.0.0.0', '::']) {
    const got = advertisedHost(any);
    // a machine with no external interface falls back to loopback
    expect(own.length ? own : ['127.0.0.1']).toContain(got);
    expect(got).not.toBe(any);
  }
});
