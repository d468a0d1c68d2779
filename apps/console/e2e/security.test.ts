/**
 * Issue 11, finding 1, in a real browser: a developer of workspace A stores a "dataset" whose text is an HTML page
 * with a script, and hands its download link to the owner of workspace B. Before the fix the console served it as
 * text/html from its own origin and the script, running as B's owner, created an API key in B. Now the link is an
 * inert download (attachment, a safe type, nosniff, a sandbox CSP) and B is untouched.
 *
 * Local storage is where the console itself serves stored files, so this file starts a second console (server.ts,
 * as `npm start` runs it, on the browser tests' build and database) with the local driver.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalStorage } from '@crucible/storage';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { openBrowser, screenshot } from './browser';
import { startConsole } from './console-server';

// The browser tests' own local storage folder (vitest.e2e.config.ts): the housekeeping worker the global setup starts
// imports uploads from it, so this console must store them there too.
const ownStorage = !process.env.STORAGE_DIR;
const storageDir = process.env.STORAGE_DIR ?? mkdtempSync(path.join(tmpdir(), 'crucible-e2e-local-'));
let consoleServer: Awaited<ReturnType<typeof startConsole>> | undefined;
let origin = '';
let browser: Browser;

/** An HTTP client for one person: keeps the session cookie, sends the console's Origin like its own pages do. */
function personAt(base: string) {
  let cookie = '';
  return {
    get cookie() {
      return cookie;
    },
    async req(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(`${base}${url}`, {
        method,
        redirect: 'manual',
        headers: {
          origin: base,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(cookie ? { cookie } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const set = res.headers.getSetCookie().map((c) => c.split(';')[0]);
      if (set.length) cookie = set.join('; ');
      return res;
    },
  };
}

async function signUpWithWorkspace(base: string, tag: string) {
  const p = personAt(base);
  const email = `${tag}-${Date.now()}@example.com`;
  const r = await p.req('POST', '/api/auth/sign-up/email', { email, password: 'a long password 1', name: tag });
  expect(r.status, await r.clone().text()).toBe(200);
  const slug = `${tag}-${Date.now().toString(36)}`;
  expect((await p.req('POST', '/api/workspaces', { name: tag, slug })).status).toBe(201);
  return { ...p, email, slug };
}

beforeAll(async () => {
  consoleServer = await startConsole({
    ...process.env,
    DATABASE_URL: inject('databaseUrl'),
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: storageDir,
    S3_ENDPOINT: '',
  });
  origin = consoleServer.baseURL;
  browser = await openBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await consoleServer?.stop();
  if (ownStorage) rmSync(storageDir, { recursive: true, force: true });
});

describe('stored files are never pages (issue 11, finding 1)', () => {
  it("a script in a stored dataset cannot act as another workspace's owner", async () => {
    const attacker = await signUpWithWorkspace(origin, 'mallory');
    const victim = await signUpWithWorkspace(origin, 'victim');
    const ds = await (await attacker.req('POST', `/api/workspaces/${attacker.slug}/datasets`, { name: 'trap' })).json();
    const uploads = `/api/workspaces/${attacker.slug}/datasets/${ds.id}/uploads`;

    // Declaring the upload as HTML is refused outright.
    const declared = await attacker.req('POST', uploads, {
      fileName: 'trap.jsonl',
      size: 300,
      contentType: 'text/html',
    });
    expect(declared.status).toBe(400);
    expect((await declared.json()).error).toMatchObject({ type: 'invalid_request_error', param: 'contentType' });

    // An object stored as text/html anyway (before uploads were checked, or written to the bucket directly).
    const script = `fetch('/api/workspaces/${victim.slug}/api-keys',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({name:'pwned'})}).then(r=>r.text()).then(t=>{document.title='PWNED '+t})`;
    const page = `${JSON.stringify({
      messages: [
        { role: 'user', content: `<script>${script}</script>` },
        { role: 'assistant', content: 'ok' },
      ],
    })}\n`;
    const up = await (
      await attacker.req('POST', uploads, { fileName: 'trap.jsonl', size: Buffer.byteLength(page) })
    ).json();
    await createLocalStorage({ root: storageDir, signingSecret: 'unused', publicUrl: origin }).putObject(
      up.key,
      Buffer.from(page),
      { contentType: 'text/html' },
    );
    const imported = await attacker.req('POST', `/api/workspaces/${attacker.slug}/datasets/${ds.id}/imports`, {
      uploadId: up.uploadId,
      wait: true,
    });
    expect(imported.status, await imported.clone().text()).toBe(201);
    const version = (await imported.json()).version;
    const link = await (
      await attacker.req(
        'GET',
        `/api/workspaces/${attacker.slug}/datasets/${ds.id}/versions/${version.id}/download?original=1`,
      )
    ).json();
    const url = new URL(link.url, origin).toString();
    expect(new URL(url).origin).toBe(origin); // the console's own origin serves it: the case that mattered

    const head = await fetch(url);
    expect(head.headers.get('content-type')).toBe('application/octet-stream');
    expect(head.headers.get('content-disposition')).toMatch(/^attachment; filename="trap\.jsonl"/);
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    expect(head.headers.get('content-security-policy')).toMatch(/sandbox/);

    // The victim, signed in, opens the link in a real browser.
    const context = await browser.newContext({ baseURL: origin, acceptDownloads: true });
    const [name, value] = victim.cookie.split(';')[0].split('=');
    await context.addCookies([{ name, value, url: origin }]);
    const tab = await context.newPage();
    onTestFailed(async () => {
      await screenshot(tab, 'failure-stored-xss').catch(() => undefined);
    });
    const [download] = await Promise.all([tab.waitForEvent('download'), tab.goto(url).catch(() => null)]);
    expect(download.suggestedFilename()).toBe('trap.jsonl');
    await tab.waitForTimeout(1500); // time a script would have had to run
    expect(await tab.title()).not.toMatch(/PWNED/);
    const keys = await (await victim.req('GET', `/api/workspaces/${victim.slug}/api-keys`)).json();
    expect(keys.data).toEqual([]);
    await context.close();
  }, 120_000);

  it('pages carry a nonce CSP under which the console still works; API paths answer errors as JSON', async () => {
    const base = inject('baseURL');
    const signIn = await fetch(`${base}/sign-in`);
    const csp = signIn.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    const html = await signIn.text();
    // Every script tag of the page carries this response's nonce.
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);

    const context = await browser.newContext({ baseURL: base });
    const tab = await context.newPage();
    const violations: string[] = [];
    tab.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await tab.goto('/sign-in');
    await tab.getByRole('button', { name: 'Sign in' }).waitFor();
    await tab.getByLabel('Email').fill('nobody@example.com'); // hydrated: React handles the form
    expect(violations).toEqual([]);
    await context.close();

    for (const [method, url, status] of [
      ['GET', '/api/no-such-route', 404],
      ['DELETE', '/api/health', 405],
      ['GET', '/v1/models/%E0%A4%A', 400],
      ['GET', '/api/workspaces/a%00b', 400],
    ] as const) {
      const res = await fetch(`${base}${url}`, { method });
      expect(res.status, url).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/json');
      const body = await res.json();
      expect(Object.keys(body.error).sort(), url).toEqual(['code', 'message', 'param', 'type']);
    }
  }, 60_000);
});
