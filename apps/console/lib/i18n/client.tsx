'use client';

import * as React from 'react';
import { z } from 'zod';
import { setApiErrorLocalizer } from '../api-client';
import type { TLocale } from './config';
import { apiErrorText } from './domain';
import { createTranslator, type TMessages, type TTranslate } from './translate';

type TI18n = { locale: TLocale; t: TTranslate };
const I18nContext = React.createContext<TI18n | null>(null);

/** Receives the active catalogue from the server layout, so the browser never downloads the other locale. */
export function I18nProvider({
  locale,
  messages,
  children,
}: {
  locale: TLocale;
  messages: TMessages;
  children: React.ReactNode;
}) {
  const value = React.useMemo(() => {
    const t = createTranslator(messages);
    // API errors arrive in English (for API users) with a code; the browser shows them in this language.
    setApiErrorLocalizer((e) => apiErrorText(t, locale, e));
    return { locale, t };
  }, [locale, messages]);
  // zod's built-in messages ("Too small: expected string to have >=8 characters") follow the UI language too.
  React.useEffect(() => {
    void loadZodLocale(locale);
  }, [locale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

async function loadZodLocale(locale: TLocale) {
  // Only the one catalogue needed is loaded (zod ships ~60 locales).
  const mod = locale === 'zh-CN' ? await import('zod/v4/locales/zh-CN.js') : await import('zod/v4/locales/en.js');
  z.config(mod.default());
}

function useI18n(): TI18n {
  const value = React.useContext(I18nContext);
  if (!value) throw new Error('useT() must be used inside <I18nProvider>');
  return value;
}

export const useT = () => useI18n().t;
export const useLocale = () => useI18n().locale;
