'use client';

import { useRouter } from 'next/navigation';
import { useCallback, useTransition } from 'react';
import { api } from './api-client';
import { LOCALE_COOKIE, type TLocale } from './i18n/config';

const ONE_YEAR_S = 60 * 60 * 24 * 365;

/**
 * Switches the console language: saved on the user (PATCH /api/me) when signed in, and in a cookie for signed-out
 * pages; then the server components re-render in the new language.
 */
export function useSetLocale({ signedIn }: { signedIn: boolean }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const setLocale = useCallback(
    (locale: TLocale) => {
      startTransition(async () => {
        // biome-ignore lint/suspicious/noDocumentCookie: a plain preference cookie, read by the server on next render
        document.cookie = `${LOCALE_COOKIE}=${locale}; path=/; max-age=${ONE_YEAR_S}; samesite=lax`;
        if (signedIn) await api('/api/me', { method: 'PATCH', body: { locale } });
        router.refresh();
      });
    },
    [router, signedIn],
  );
  return { setLocale, pending };
}
