import type { z } from 'zod';

/**
 * The precise reason of an API error as a stable code + parameters (issue 13, item 11): `/api/*` error bodies carry
 * it as `error.reason` (lib/server/errors.ts) and the console turns it into the reader's language
 * (lib/i18n/domain.ts reasonText). Browser-safe: the forms describe their own zod issues the same way.
 */
type TZodIssue = z.core.$ZodIssue;

export type TErrorReason = { code: string; params: Record<string, string | number | boolean> };

/** A zod issue as a reason: its code and the parameters a sentence needs (zod v4 issue fields). */
export function zodReason(issue: TZodIssue): TErrorReason {
  const params: TErrorReason['params'] = {};
  const i = issue as unknown as Record<string, unknown>;
  for (const key of ['origin', 'expected', 'format', 'inclusive'] as const) {
    if (typeof i[key] === 'string' || typeof i[key] === 'boolean') params[key] = i[key] as string | boolean;
  }
  for (const key of ['minimum', 'maximum', 'divisor'] as const) {
    if (typeof i[key] === 'number' || typeof i[key] === 'bigint') params[key] = Number(i[key]);
  }
  for (const key of ['values', 'keys'] as const) {
    if (Array.isArray(i[key])) params[key] = (i[key] as unknown[]).map(String).join(', ');
  }
  return { code: `zod.${issue.code}`, params };
}
