import { getAuth } from '@crucible/auth';
import { getPrisma, isDatabaseUnavailable } from '@crucible/db';
import { errorBody } from '../error-shape';
import { databaseUnavailable, toResponse } from '../errors';
import { BODY_LIMITS, readText } from '../http';
import { checkLoginAllowed, clearLoginFailures, recordLoginFailure } from '../ratelimit';

/**
 * better-auth's own endpoints (/api/auth/sign-up/email, /sign-in/email, /sign-out, /organization/...), with two
 * things around them:
 * - sign-in limits per client address and per account (ratelimit.ts LOGIN_LIMITS);
 * - errors in the /api shape (`{error: {type, code, message, param}}`, error-shape.ts). better-auth's client (the
 *   console's sign-in and sign-up forms) reads its own top-level `code` and `message`, so those stay beside it.
 */

const SIGN_IN = '/api/auth/sign-in/email';

/** The client address as the front door (frontdoor.ts) resolved it: the only X-Forwarded-For entry it hands on. */
const clientAddress = (req: Request) => req.headers.get('x-forwarded-for')?.split(',')[0].trim() || 'unknown';

/** better-auth answers a failed query with its own 500; when the database is down that is an outage (503). */
async function databaseDown(): Promise<boolean> {
  try {
    await getPrisma().$queryRaw`SELECT 1`;
    return false;
  } catch (error) {
    return isDatabaseUnavailable(error);
  }
}

async function reshapeError(res: Response): Promise<Response> {
  if (res.status >= 500 && (await databaseDown())) return toResponse(databaseUnavailable());
  if (res.status < 400 || !(res.headers.get('content-type') ?? '').includes('json')) return res;
  const body = (await res
    .clone()
    .json()
    .catch(() => null)) as { code?: string; message?: string; error?: unknown } | null;
  if (!body || body.error) return res;
  const code = body.code ? body.code.toLowerCase() : null;
  const message = body.message ?? res.statusText ?? 'The request failed.';
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  return Response.json(
    { ...errorBody('api', { status: res.status, code, message, param: null }), code: body.code, message },
    { status: res.status, headers },
  );
}

export async function authHandler(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (req.method !== 'POST' || path !== SIGN_IN) return reshapeError(await getAuth().handler(req));
  try {
    const text = await readText(req, BODY_LIMITS.json);
    let email: string | null = null;
    try {
      const parsed = JSON.parse(text) as { email?: unknown };
      email = typeof parsed.email === 'string' ? parsed.email : null;
    } catch {
      // better-auth answers the malformed body itself
    }
    const address = clientAddress(req);
    await checkLoginAllowed(address, email);
    const res = await getAuth().handler(new Request(req.url, { method: 'POST', headers: req.headers, body: text }));
    if (res.status === 401) await recordLoginFailure(address, email);
    else if (res.ok && email) await clearLoginFailures(email);
    return reshapeError(res);
  } catch (error) {
    return toResponse(error);
  }
}
