'use client';

import { ApiError } from '@/lib/api-client';
import type { TLocale } from '@/lib/i18n/config';
import type { TTranslate } from '@/lib/i18n/translate';

/**
 * A sentence for a failed API call. The API's own messages are English and precise ("The last owner cannot be
 * demoted"), so English users get them verbatim; other locales get the catalogue sentence for the error code.
 */
export function apiErrorMessage(error: unknown, t: TTranslate, locale: TLocale): string {
  if (!(error instanceof ApiError)) return t('errors.unknown');
  if (error.code === 'network') return t('errors.network');
  if (locale === 'en' && error.message) return error.message;
  if (error.code === 'forbidden') return t('errors.forbidden');
  return t('errors.unknown');
}
