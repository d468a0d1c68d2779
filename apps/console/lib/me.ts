import 'server-only';
import { cookies, headers } from 'next/headers';
import { cache } from 'react';
import { isLocale, type TLocale } from './i18n/config';

export type TRole = 'owner' | 'admin' | 'developer' | 'viewer';
export type TMyWorkspace = { id: string; name: string; slug: string; role: TRole };
export type TMe = {
  user: { id: string; name: string; email: string; image?: string | null };
  locale: TLocale | null;
  workspaces: TMyWorkspace[];
};

/**
 * The signed-in user, their saved locale and their workspaces, from `GET /api/me` — the same route the browser
 * and API clients use, so pages and the REST API cannot disagree about who is signed in. Memoised per request
 * (layouts, pages and getLocale() all call it). Returns null when not signed in.
 */
export const getMe = cache(async (): Promise<TMe | null> => {
  const [cookieStore, headerList] = await Promise.all([cookies(), headers()]);
  if (cookieStore.getAll().length === 0) return null;
  const host = headerList.get('host') ?? `127.0.0.1:${process.env.PORT ?? 3000}`;
  let response: Response;
  try {
    response = await fetch(`http://${host}/api/me`, {
      headers: { cookie: headerList.get('cookie') ?? '', accept: 'application/json' },
      cache: 'no-store',
    });
  } catch (error) {
    throw new Error(`GET /api/me failed: ${(error as Error).message}`);
  }
  if (response.status === 401 || response.status === 404) return null;
  if (!response.ok) throw new Error(`GET /api/me answered ${response.status}`);
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
  };
}
