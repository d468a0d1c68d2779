// Locale configuration shared by server and client code (no server-only imports here).

export const LOCALES = ['en', 'zh-CN'] as const;
export type TLocale = (typeof LOCALES)[number];
const DEFAULT_LOCALE: TLocale = 'en';

/** Cookie holding the last chosen locale: used before sign-in and as a fallback when the user has no preference. */
export const LOCALE_COOKIE = 'crucible-locale';

export const isLocale = (value: unknown): value is TLocale =>
  typeof value === 'string' && (LOCALES as readonly string[]).includes(value);

/**
 * Picks our best locale for an Accept-Language header ("zh-CN,zh;q=0.9,en;q=0.8").
 * Any Chinese variant maps to zh-CN: it is the only Chinese catalogue we ship.
 */
export function matchAcceptLanguage(header: string | null | undefined): TLocale {
  if (!header) return DEFAULT_LOCALE;
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.find((p) => p.trim().startsWith('q='));
      return { tag: tag.toLowerCase(), q: q ? Number(q.trim().slice(2)) || 0 : 1 };
    })
    .filter((entry) => entry.tag && entry.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
  }
  return DEFAULT_LOCALE;
}
