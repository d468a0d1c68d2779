import 'server-only';
import { cookies, headers } from 'next/headers';
import { cache } from 'react';
import { getMe } from '../me';
import { isLocale, LOCALE_COOKIE, matchAcceptLanguage, type TLocale } from './config';
import { englishMessages, getMessages } from './messages';
import { createTranslator } from './translate';

/**
 * The request's locale: the signed-in user's saved preference, else the locale cookie (set by the switcher and
 * kept for signed-out pages), else the browser's Accept-Language.
 */
export const getLocale = cache(async (): Promise<TLocale> => {
  const me = await getMe().catch(() => null);
  if (me?.locale) return me.locale;
  const cookie = (await cookies()).get(LOCALE_COOKIE)?.value;
  if (isLocale(cookie)) return cookie;
  return matchAcceptLanguage((await headers()).get('accept-language'));
});

export async function getT() {
  const locale = await getLocale();
  return createTranslator(getMessages(locale), englishMessages);
}
