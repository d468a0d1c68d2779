import {
  API_KEY_ROLE,
  getAuth,
  readAuthEnv,
  roleAtLeast,
  roleRank,
  type TApiKeySummary,
  type TRole,
  verifyApiKey,
} from '@crucible/auth';
import { getPrisma } from '@crucible/db';
import { AppError } from './errors';
import { checkRateLimit, type TRateLimit } from './ratelimit';

/**
 * Who is calling and what they may do. Framework-agnostic: everything takes a
 * standard Request or Headers, so route handlers run the same under Next and
 * in tests.
 */

export type TSessionUser = { id: string; email: string; name: string; locale: string };
export type TSession = { user: TSessionUser; session: { id: string; token: string; expiresAt: Date } };

export type TPrincipal =
  | { kind: 'user'; user: TSessionUser; session: TSession['session'] }
  | { kind: 'apiKey'; apiKey: TApiKeySummary; rate: TRateLimit | null };

export type TWorkspaceContext = {
  user?: TSessionUser;
  apiKey?: TApiKeySummary;
  workspace: { id: string; name: string; slug: string; createdAt: Date };
  role: TRole;
  /** Set when an instance admin who is not a member reads the workspace (only routes that allow it, read-only). */
  instanceAdmin?: true;
};

/**
 * The signed-in user's session, or null. Always read from the database (the
 * cookie cache is off), so a revoked session fails on the next request.
 */
export async function getSession(headers: Headers): Promise<TSession | null> {
  const result = await getAuth().api.getSession({ headers, query: { disableCookieCache: true } });
  if (!result) return null;
  const user = result.user as typeof result.user & { locale?: string | null };
  return {
    user: { id: user.id, email: user.email, name: user.name, locale: user.locale ?? 'en' },
    session: { id: result.session.id, token: result.session.token, expiresAt: new Date(result.session.expiresAt) },
  };
}

function bearerToken(headers: Headers): string | null {
  const header = headers.get('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : null;
}

/**
 * A workspace API key (`Authorization: Bearer crk_...`, counted against its rate limit) or a session cookie.
 * A bearer token that is present but not a live key is refused outright —
 * never silently retried as the cookie — so a revoked key fails loudly.
 */
export async function authenticate(req: Request): Promise<TPrincipal> {
  const token = bearerToken(req.headers);
  if (token) {
    const apiKey = await verifyApiKey(token);
    if (!apiKey) throw new AppError('unauthorized', 'The API key is not valid or has been revoked.');
    // Every route a key reaches (/v1 and /api alike) counts against its rate limit (issue 11, finding 8).
    const rate = await checkRateLimit(`key:${apiKey.id}`);
    return { kind: 'apiKey', apiKey, rate };
  }
  const session = await getSession(req.headers);
  if (!session) throw new AppError('unauthorized', 'Sign in to continue.');
  refuseCrossSite(req);
  return { kind: 'user', user: session.user, session: session.session };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookies ride along on requests other sites make a browser send. better-auth
 * checks the Origin on its own endpoints; this does the same for ours: a
 * cookie-authenticated change must come from the console's own origin. (API
 * keys need no such check: a browser never adds them by itself.) Requests
 * without an Origin header come from programs, not from another site's page.
 */
function refuseCrossSite(req: Request): void {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return;
  const origin = req.headers.get('origin');
  const site = req.headers.get('sec-fetch-site');
  const allowed = new URL(readAuthEnv().APP_URL).origin;
  if ((origin && origin !== allowed) || site === 'cross-site') {
    throw new AppError('forbidden', `Cross-site request refused: this API accepts changes from ${allowed} only.`);
  }
}

/** Routes about a person (profile, their workspaces, accepting an invitation) need a user, not a key. */
export async function requireUser(req: Request): Promise<{ user: TSessionUser; session: TSession['session'] }> {
  const principal = await authenticate(req);
  if (principal.kind !== 'user') throw new AppError('forbidden', 'This route needs a signed-in user, not an API key.');
  return principal;
}

/** better-auth stores several roles as "a,b"; the strongest one counts. */
export function effectiveRole(stored: string): TRole | null {
  let best: TRole | null = null;
  for (const part of stored.split(',')) {
    const role = part.trim();
    if (roleRank(role) >= 0 && (best === null || roleRank(role) > roleRank(best))) best = role as TRole;
  }
  return best;
}

/** Instance admins (user.role "admin", set by `crucible user create --admin` / `user promote`). */
export async function isInstanceAdmin(userId: string): Promise<boolean> {
  const user = await getPrisma().user.findUnique({ where: { id: userId }, select: { role: true } });
  return (user?.role ?? '')
    .split(',')
    .map((r) => r.trim())
    .includes('admin');
}

/**
 * The caller's standing in workspace `slug`, or an AppError:
 * - `not_found` when the workspace does not exist OR the caller is not in it
 *   (a member of A asking for B's anything gets 404, never 403: we do not
 *   confirm that B exists);
 * - `forbidden` when the caller is in it but their role is below `minRole`.
 *
 * `instanceAdminRead` (billing reads only; such routes are marked in the route
 * table and the tenant-isolation test holds every other route to 404) lets an
 * instance admin who is not a member in as a viewer. It applies to sessions
 * only (never an API key) and only to viewer routes, so it never grants a change.
 */
export async function requireWorkspace(
  req: Request,
  slug: string,
  minRole: TRole,
  opts: { instanceAdminRead?: boolean } = {},
): Promise<TWorkspaceContext> {
  const principal = await authenticate(req);
  const prisma = getPrisma();
  const workspace = await prisma.workspace.findUnique({
    where: { slug },
    select: { id: true, name: true, slug: true, createdAt: true },
  });
  if (!workspace) throw new AppError('not_found', 'No such workspace.');

  let role: TRole | null;
  if (principal.kind === 'apiKey') {
    role = principal.apiKey.workspaceId === workspace.id ? API_KEY_ROLE : null;
  } else {
    const member = await prisma.member.findUnique({
      where: { organizationId_userId: { organizationId: workspace.id, userId: principal.user.id } },
      select: { role: true },
    });
    role = member ? effectiveRole(member.role) : null;
    if (!role && opts.instanceAdminRead && minRole === 'viewer' && (await isInstanceAdmin(principal.user.id))) {
      return { user: principal.user, workspace, role: 'viewer', instanceAdmin: true };
    }
  }
  if (!role) throw new AppError('not_found', 'No such workspace.');
  if (!roleAtLeast(role, minRole)) {
    throw new AppError('forbidden', `This needs the ${minRole} role or higher; you are ${role}.`);
  }
  return principal.kind === 'apiKey'
    ? { apiKey: principal.apiKey, workspace, role }
    : { user: principal.user, workspace, role };
}
