import 'server-only';
import { headers } from 'next/headers';
import { cache } from 'react';
import { isLocale, type TLocale } from './i18n/config';
import { getMe as getMeRoute } from './server/routes/me';

export type TRole = 'owner' | 'admin' | 'developer' | 'viewer';
export type TMyWorkspace = { id: string; name: string; slug: string; role: TRole };
export type TMe = {
  user: { id: string; name: string; email: string; image?: string | null };
  locale: TLocale | null;
  workspaces: TMyWorkspace[];
  /** user.role "admin": may open /admin/billing (every workspace's spend, read-only). */
  instanceAdmin: boolean;
};

/**
 * The signed-in user, their saved locale and their workspaces: the answer of `GET /api/me`, produced by calling that
 * route's handler in-process with this request's headers, so pages and the REST API cannot disagree about who is
 * signed in (and no loopback HTTP). Memoised per request: layouts, pages and getLocale() all call it.
 * Returns null when not signed in.
 */
export const getMe = cache(async (): Promise<TMe | null> => {
  const headerList = await headers();
  if (!headerList.get('cookie')) return null;
  const response = await getMeRoute(new Request('http://console.internal/api/me', { headers: headerList }), {});
  if (response.status === 401 || response.status === 404) return null;
  if (!response.ok) throw new Error(`GET /api/me answered ${response.status}: ${await response.text()}`);
  return parseMe(await response.json());
});

// Tolerant parsing: the UI needs only a few fields, and extra fields from the API must not break a page.
function parseMe(body: unknown): TMe | null {
  const root = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const user = (root.user ?? null) as Record<string, unknown> | null;
  if (!user || typeof user.id !== 'string') return null;
  const locale = root.locale ?? user.locale;
  const workspaces = Array.isArray(root.workspaces) ? root.workspaces : [];
  return {
    user: {
      id: user.id,
      name: String(user.name ?? user.email ?? ''),
      email: String(user.email ?? ''),
      image: typeof user.image === 'string' ? user.image : null,
    },
    locale: isLocale(locale) ? locale : null,
    workspaces: workspaces.map((w: Record<string, unknown>) => ({
      id: String(w.id),
      name: String(w.name),
      slug: String(w.slug),
      role: (w.role ?? 'viewer') as TRole,
    })),
    instanceAdmin: root.instanceAdmin === true,
  };
}
