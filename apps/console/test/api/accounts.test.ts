// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authPost,
  call,
  cookieFrom,
  PASSWORD,
  signIn,
  signUp,
  startTestDatabase,
  stopTestDatabase,
  uniqueEmail,
} from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

describe('sign up and sign in through better-auth', () => {
  it('signs up, then /api/me shows the user with the default locale and no workspaces', async () => {
    const alice = await signUp('alice');
    const me = await call('GET', '/api/me', { caller: alice });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(alice.email);
    expect(me.body.locale).toBe('en');
    expect(me.body.workspaces).toEqual([]);
  });

  it('signs in with the right password and refuses a wrong one', async () => {
    const bob = await signUp('bob');
    const ok = await signIn(bob.email, PASSWORD);
    expect(ok.status).toBe(200);
    const me = await call('GET', '/api/me', { caller: { cookie: cookieFrom(ok) } });
    expect(me.body.user.email).toBe(bob.email);

    const bad = await signIn(bob.email, 'wrong password!');
    expect(bad.status).toBe(401);
    expect(bad.headers.getSetCookie()).toEqual([]);
  });

  it('prevents sign-up from setting the instance role or other server-owned fields', async () => {
    const email = uniqueEmail('escalate');
    const res = await authPost('/sign-up/email', { email, password: PASSWORD, name: 'e', role: 'admin', locale: 'xx' });
    const { getPrisma } = await import('@crucible/db');
    const user = await getPrisma().user.findUnique({ where: { email } });
    // Either refused outright or created without the extra fields; never an admin.
    if (res.status === 200) expect(user).toMatchObject({ role: 'user', locale: 'en' });
    else expect(user).toBeNull();
  });

  it('refuses a second account with the same email', async () => {
    const carol = await signUp('carol');
    const again = await authPost('/sign-up/email', { email: carol.email, password: PASSWORD, name: 'x' });
    expect(again.status).toBeGreaterThanOrEqual(400);
  });

  it('limits failed sign-ins per account, whatever X-Forwarded-For says (issue 11, finding 7)', async () => {
    const dave = await signUp('dave');
    const attempt = (password: string, i: number) =>
      authPost('/sign-in/email', { email: dave.email, password }, undefined, { 'x-forwarded-for': `198.51.100.${i}` });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await attempt('wrong password!', i)).status);
    // Five failures are allowed; from the sixth on the account is refused, however the address rotates.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const limited = await attempt(PASSWORD, 99);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await limited.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
    // Another account is not affected.
    const erin = await signUp('erin');
    expect((await signIn(erin.email, PASSWORD)).status).toBe(200);
  });

  it('limits failed sign-ins per client address across accounts', async () => {
    const address = `203.0.113.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await authPost(
        '/sign-in/email',
        { email: uniqueEmail('nobody'), password: 'wrong password!' },
        undefined,
        { 'x-forwarded-for': address },
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  it('answers better-auth errors in the /api error shape, keeping its own fields for its client', async () => {
    const res = await signIn(uniqueEmail('ghost'), 'wrong password!');
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: 'authentication_error', message: expect.any(String), param: null });
    expect(body.code).toBe('INVALID_EMAIL_OR_PASSWORD');
  });

  it('answers 401 with the JSON error shape when nobody is signed in', async () => {
    const res = await call('GET', '/api/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { type: 'authentication_error', code: 'unauthorized', message: expect.any(String), param: null },
    });
  });

  it('PATCH /api/me switches the locale to zh-CN and validates it', async () => {
    const dan = await signUp('dan');
    const ok = await call('PATCH', '/api/me', { caller: dan, body: { locale: 'zh-CN' } });
    expect(ok.status).toBe(200);
    expect((await call('GET', '/api/me', { caller: dan })).body.locale).toBe('zh-CN');

    const bad = await call('PATCH', '/api/me', { caller: dan, body: { locale: 'fr' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', param: 'locale' });
  });
});

describe('session revocation takes effect immediately', () => {
  it('prevents a signed-out cookie from still working', async () => {
    const erin = await signUp('erin');
    expect((await call('GET', '/api/me', { caller: erin })).status).toBe(200);
    const out = await authPost('/sign-out', {}, erin);
    expect(out.status).toBe(200);
    expect((await call('GET', '/api/me', { caller: erin })).status).toBe(401);
  });

  it('prevents a session revoked from another device from still working', async () => {
    const frank = await signUp('frank');
    const laptop = { cookie: cookieFrom(await signIn(frank.email, PASSWORD)) };
    expect((await call('GET', '/api/me', { caller: laptop })).status).toBe(200);
    // From the first session, revoke every other session (the laptop's).
    const res = await authPost('/revoke-other-sessions', {}, frank);
    expect(res.status).toBe(200);
    expect((await call('GET', '/api/me', { caller: laptop })).status).toBe(401);
    expect((await call('GET', '/api/me', { caller: frank })).status).toBe(200);
  });

  it('prevents a session deleted in the database (admin revoke) from still working', async () => {
    const gina = await signUp('gina');
    const { getPrisma } = await import('@crucible/db');
    await getPrisma().session.deleteMany({ where: { userId: gina.userId } });
    expect((await call('GET', '/api/me', { caller: gina })).status).toBe(401);
  });
});

it('uniqueEmail gives distinct addresses', () => {
  expect(uniqueEmail('x')).not.toBe(uniqueEmail('x'));
});

describe('cross-site request forgery', () => {
  it("prevents another site's page from changing data with the user's cookie", async () => {
    const user = await signUp('csrf');
    const { patchMe } = await import('../../lib/server/routes/me');
    const forged = await patchMe(
      new Request('http://localhost:3000/api/me', {
        method: 'PATCH',
        headers: { cookie: user.cookie ?? '', origin: 'https://evil.example', 'content-type': 'application/json' },
        body: JSON.stringify({ locale: 'zh-CN' }),
      }),
      {},
    );
    expect(forged.status).toBe(403);
    expect((await call('GET', '/api/me', { caller: user })).body.locale).toBe('en');
    // The console's own origin (what the helpers send) is accepted.
    expect((await call('PATCH', '/api/me', { caller: user, body: { locale: 'zh-CN' } })).status).toBe(200);
  });
});
