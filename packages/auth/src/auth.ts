import { getPrisma } from '@crucible/db';
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { organization } from 'better-auth/plugins/organization';
import { readAuthEnv } from './env';
import { ac, roles } from './permissions';

/**
 * better-auth's organization endpoints that browsers may call directly: reads
 * and the session's active workspace. Every change to workspaces, members,
 * invitations and roles goes through the console's /api/workspaces routes
 * instead, so there is one place that enforces Crucible's rules (slug format,
 * the last owner, owner-only grants, 404 for outsiders) and writes the audit
 * log. Server-side calls (`auth.api.*` without a request, as in ./admin.ts)
 * are not affected.
 */
export const ORGANIZATION_HTTP_ALLOWED = new Set([
  '/organization/set-active',
  '/organization/list',
  '/organization/get-full-organization',
  '/organization/get-organization',
  '/organization/get-active-member',
  '/organization/get-active-member-role',
  '/organization/list-members',
  '/organization/check-slug',
  '/organization/get-invitation',
  '/organization/list-invitations',
  '/organization/list-user-invitations',
]);

export type TCreateAuthOptions = {
  /** A Prisma client from @crucible/db; defaults to the shared one. */
  prisma?: unknown;
  secret?: string;
  baseURL?: string;
};

/**
 * The better-auth instance. Choices that matter for security:
 * - sessions live in Postgres and the cookie cache is off, so deleting a
 *   session row (sign-out, "revoke", removing a member) takes effect on the
 *   very next request rather than after a cache lifetime;
 * - a workspace is better-auth's "organization", stored in our `workspace`
 *   table, with the four Crucible roles and their access-control statements;
 * - API keys are NOT a better-auth plugin here (see ./api-keys.ts for why).
 */
export function createAuth(options: TCreateAuthOptions = {}) {
  const env = readAuthEnv();
  const baseURL = options.baseURL ?? env.APP_URL;
  // biome-ignore lint/suspicious/noExplicitAny: the adapter takes any generated Prisma client
  const prisma = (options.prisma ?? getPrisma()) as any;
  return betterAuth({
    appName: 'Crucible',
    secret: options.secret ?? env.BETTER_AUTH_SECRET,
    baseURL,
    basePath: '/api/auth',
    trustedOrigins: [new URL(baseURL).origin],
    database: prismaAdapter(prisma, { provider: 'postgresql' }),
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
    },
    session: {
      cookieCache: { enabled: false },
    },
    user: {
      additionalFields: {
        locale: { type: 'string', required: false, defaultValue: 'en', input: false },
      },
    },
    telemetry: { enabled: false },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.request && ctx.path.startsWith('/organization/') && !ORGANIZATION_HTTP_ALLOWED.has(ctx.path)) {
          throw new APIError('NOT_FOUND', { message: 'Manage workspaces through /api/workspaces.' });
        }
      }),
    },
    plugins: [
      organization({
        ac,
        roles,
        creatorRole: 'owner',
        // A workspace is created through our own route (which validates the
        // slug with the shared zod schema), but allowing it here too keeps
        // better-auth's client helpers usable.
        allowUserToCreateOrganization: true,
        invitationExpiresIn: 7 * 24 * 60 * 60,
        cancelPendingInvitationsOnReInvite: true,
        schema: { organization: { modelName: 'workspace' } },
      }),
    ],
  });
}

export type TAuth = ReturnType<typeof createAuth>;

let shared: TAuth | undefined;

/** The process-wide instance, created on first use so tests can set DATABASE_URL first. */
export function getAuth(): TAuth {
  shared ??= createAuth();
  return shared;
}

/**
 * `auth` for code that wants a value (Next's route handler, better-auth's
 * type inference). It forwards to `getAuth()` lazily.
 */
export const auth: TAuth = new Proxy({} as TAuth, {
  get(_target, prop) {
    return Reflect.get(getAuth() as object, prop);
  },
});

export type Session = TAuth['$Infer']['Session'];
