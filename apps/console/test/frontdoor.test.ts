// @vitest-environment node
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  badUrl,
  createAddressResolver,
  createFrontdoor,
  frontdoorConfig,
  pageCsp,
  parseTrustedProxies,
} from '../lib/server/frontdoor';

/** The console's front door (lib/server/frontdoor.ts, mounted by server.ts before Next.js), rule by rule. */

describe('client address (issue 11, finding 7)', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy, however it rotates', () => {
    const resolve = createAddressResolver([]);
    for (let i = 0; i < 8; i++) expect(resolve('203.0.113.9', `10.0.0.${i}`)).toBe('203.0.113.9');
    expect(resolve('::ffff:203.0.113.9', undefined)).toBe('203.0.113.9');
  });

  it('believes a trusted proxy, but only as far as the chain is trusted (the rightmost untrusted hop)', () => {
    const resolve = createAddressResolver(parseTrustedProxies('127.0.0.1, 10.0.0.0/8'));
    expect(resolve('127.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    // A client prepending a forged entry does not move the answer: its real address was appended by the proxy.
    expect(resolve('127.0.0.1', '1.1.1.1, 198.51.100.7')).toBe('198.51.100.7');
    expect(resolve('127.0.0.1', '198.51.100.7, 10.1.2.3')).toBe('198.51.100.7');
    expect(resolve('127.0.0.1', undefined)).toBe('127.0.0.1');
  });

  it('refuses a TRUSTED_PROXIES entry that is not an address or range, naming it', () => {
    expect(() => parseTrustedProxies('127.0.0.1, proxy.local')).toThrow(/"proxy\.local" is not an IP address/);
    expect(() => parseTrustedProxies('10.0.0.0/40')).toThrow(/10\.0\.0\.0\/40/);
    expect(parseTrustedProxies('')).toEqual([]);
  });
});

describe('URLs no route can read (issue 11, finding 9)', () => {
  it.each([
    ['/v1/models/%E0%A4%A', 'path'],
    ['/api/workspaces/a%00b', 'path'],
    ['/api/usage?from=%ZZ', 'query'],
    ['/api/usage?name=a%00', 'query'],
  ])('%s is refused naming the %s', (url, param) => {
    expect(badUrl(url)).toMatchObject({ param });
  });

  it('lets good URLs through', () => {
    expect(badUrl('/api/workspaces/ws-1/datasets?q=%E4%B8%AD+%E6%96%87')).toBeNull();
  });
});

describe('content security policy (issue 11, finding 1)', () => {
  it('lets pages run only scripts with this response nonce: no inline, no eval, no framing, no plugins', () => {
    const p = pageCsp('abc123', { dev: false, connectSrc: ['http://s3.example:9000'] });
    expect(p).toMatch(/script-src 'self' 'nonce-abc123' 'strict-dynamic'(;|$)/);
    expect(p).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(p).toMatch(/frame-ancestors 'none'/);
    expect(p).toMatch(/object-src 'none'/);
    expect(p).toMatch(/connect-src 'self' http:\/\/s3\.example:9000/);
  });
});

describe('the front door with a real HTTP server', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    const door = createFrontdoor(frontdoorConfig({ APP_URL: 'http://127.0.0.1' }, false));
    server = createServer((req, res) =>
      door(req, res, () => {
        // Stand-ins for the framework's own answers: an HTML 404 page and an empty 405 under /api and /v1, a page.
        if (req.url === '/api/route-answer') {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found"}}');
        } else if (req.url?.startsWith('/api/') || req.url?.startsWith('/v1/')) {
          res.statusCode = req.method === 'DELETE' ? 405 : 404;
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end('<!DOCTYPE html><h1>404</h1>');
        } else {
          res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>${req.headers['x-forwarded-for']}</p>`);
        }
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('turns framework HTML errors into the API error shape, keeping the status', async () => {
    const api = await fetch(`${base}/api/nope`);
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toBe('application/json');
    expect(await api.json()).toEqual({
      error: { type: 'not_found_error', code: 'not_found', message: 'No route GET /api/nope.', param: null },
    });
    const v1 = await fetch(`${base}/v1/nope`, { method: 'DELETE' });
    expect(v1.status).toBe(405);
    expect(await v1.json()).toEqual({
      error: {
        message: '/v1/nope does not take DELETE.',
        type: 'invalid_request_error',
        param: null,
        code: 'method_not_allowed',
      },
    });
    // A route's own JSON answer passes untouched.
    expect(await (await fetch(`${base}/api/route-answer`)).json()).toEqual({ error: { code: 'not_found' } });
  });

  it('answers a malformed URL itself, and sends every answer with nosniff and a CSP', async () => {
    const res = await fetch(`${base}/v1/models/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ type: 'invalid_request_error', param: 'path' });
    const page = await fetch(`${base}/`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    // The forged X-Forwarded-For is replaced by the real peer before the app sees it.
    expect(await page.text()).toBe('<p>127.0.0.1</p>');
    expect((await fetch(`${base}/api/nope`)).headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });
});
