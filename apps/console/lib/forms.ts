'use client';

import type { z } from 'zod';
import { fieldErrors, type TFieldErrors } from '@/components/ui/form-field';
import type { TLocale } from './i18n/config';

/**
 * Validates form values with a schema from lib/schemas.ts — the same one the API route applies. The schemas carry
 * English messages (the API's language); in other locales a field's error is replaced with the catalogue message
 * given in `localized`, so a Chinese user never sees an English sentence under a Chinese label.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  values: unknown,
  locale: TLocale,
  localized: Record<string, string> = {},
): { ok: true; data: z.infer<S> } | { ok: false; errors: TFieldErrors } {
  const parsed = schema.safeParse(values);
  if (parsed.success) return { ok: true, data: parsed.data };
  const errors = fieldErrors(parsed.error);
  if (locale !== 'en') {
    for (const field of Object.keys(errors)) errors[field] = localized[field] ?? errors[field];
  }
  return { ok: false, errors };
}
