/**
 * Test harness for the REST API: a fresh migrated Postgres database per test
 * file (createTestDatabase), DATABASE_URL pointed at it BEFORE anything opens
 * a connection, and small helpers that sign people up through better-auth's
 * real endpoints and call route handlers with real Requests — no Next server,
 * nothing mocked.
 */
import { vi } from 'vitest';
import { ROUTES, type TMethod, type TRouteDef } from '../../lib/server/route-table';

// Sign-ups hash passwords with scrypt (~0.3 s each, more on a busy 2-core machine): the 5 s default is too tight.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

export const APP_URL = 'http://localhost:3000';

type TTestDb = { url: string; prisma: unknown; drop(): Promise<void> };

let db: TTestDb | undefined;

export async function startTestDatabase(): Promise<TTestDb> {
  const { createTestDatabase } = await import('@crucible/db/testing');
  db = (await createTestDatabase()) as TTestDb;
  process.env.DATABASE_URL = db.url;
  process.env.APP_URL = APP_URL;
  return db;
}

export async function stopTestDatabase(): Promise<void> {
  const dbModule = (await import('@crucible/db')) as { disconnectAll?: () => Promise<void> };
  await dbModule.disconnectAll?.();
  await db?.drop();
  db = undefined;
}

export type TCaller = { cookie?: string; key?: string };

function headersFor(caller: TCaller | undefined, body: boolean): Headers {
  const headers = new Headers({ origin: APP_URL });
  if (body) headers.set('content-type', 'application/json');
  if (caller?.cookie) headers.set('cookie', caller.cookie);
  if (caller?.key) headers.set('authorization', `Bearer ${caller.key}`);
  return headers;
}

/** Fills `[param]` segments of a route path. */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\[([^\]]+)\]/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for [${name}] in ${path}`);
    return encodeURIComponent(value);
  });
}

export function paramNames(path: string): string[] {
  return [...path.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
}

export function findRoute(method: TMethod, path: string): TRouteDef {
  const def = ROUTES.find((r) => r.method === method && r.path === path);
  if (!def) throw new Error(`no route ${method} ${path}`);
  return def;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies field by field
export type TResult = { status: number; body: any; headers: Headers };

/** Calls the route handler for `method path` as `caller`, like Next would. */
export async function call(
  method: TMethod,
  path: string,
  opts: { caller?: TCaller; params?: Record<string, string>; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TResult> {
  const def = findRoute(method, path);
  const params = opts.params ?? {};
  const url = APP_URL + fillPath(path, params);
  const hasBody = opts.body !== undefined;
  const headers = headersFor(opts.caller, hasBody);
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k, v);
  const req = new Request(url, {
    method,
    headers,
    body: hasBody ? JSON.stringify(opts.body) : undefined,
  });
  const res = await def.handler(req, params);
  const text = await res.text();
  // JSON unless the route says otherwise (a download: a model card, a CSV)
  const isJson = (res.headers.get('content-type') ?? 'application/json').includes('json');
  return { status: res.status, body: text ? (isJson ? JSON.parse(text) : text) : null, headers: res.headers };
}

/** POST to better-auth through our /api/auth/[...all] handler. */
export async function authPost(
  path: string,
  body: unknown,
  caller?: TCaller,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const { authHandler } = await import('../../lib/server/routes/auth');
  const headers = headersFor(caller, true);
  for (const [k, v] of Object.entries(extraHeaders)) headers.set(k, v);
  return authHandler(
    new Request(`${APP_URL}/api/auth${path}`, { method: 'POST', headers, body: JSON.stringify(body) }),
  );
}

/** `name=value; name2=value2` from a response's Set-Cookie headers. */
export function cookieFrom(res: Response): string {
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  if (!cookies.length) throw new Error(`no Set-Cookie in response ${res.status}`);
  return cookies.join('; ');
}

let counter = 0;
export function uniqueEmail(tag: string): string {
  counter += 1;
  return `${tag}-${counter}-${Date.now().toString(36)}@example.com`;
}

export const PASSWORD = 'correct horse battery';

/** Signs up through better-auth's real endpoint; returns the session cookie. */
export async function signUp(tag: string, password = PASSWORD): Promise<TCaller & { email: string; userId: string }> {
  const email = uniqueEmail(tag);
  const res = await authPost('/sign-up/email', { email, password, name: tag });
  if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { user: { id: string } };
  return { email, userId: body.user.id, cookie: cookieFrom(res) };
}

export async function signIn(email: string, password: string): Promise<Response> {
  return authPost('/sign-in/email', { email, password });
}

/** A workspace created through POST /api/workspaces by `owner`. */
export async function makeWorkspace(owner: TCaller, slug: string): Promise<{ id: string; slug: string }> {
  const res = await call('POST', '/api/workspaces', { caller: owner, body: { name: slug.toUpperCase(), slug } });
  if (res.status !== 201) throw new Error(`workspace create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Invites `who` with `role` and accepts as them: the whole invite-link flow. */
export async function addMember(
  admin: TCaller,
  slug: string,
  who: TCaller & { email: string },
  role: string,
): Promise<string> {
  const inv = await call('POST', '/api/workspaces/[slug]/invitations', {
    caller: admin,
    params: { slug },
    body: { email: who.email, role },
  });
  if (inv.status !== 201) throw new Error(`invite failed: ${inv.status} ${JSON.stringify(inv.body)}`);
  const acc = await call('POST', '/api/invitations/[invitationId]/accept', {
    caller: who,
    params: { invitationId: inv.body.id },
  });
  if (acc.status !== 200) throw new Error(`accept failed: ${acc.status} ${JSON.stringify(acc.body)}`);
  return inv.body.id;
}
