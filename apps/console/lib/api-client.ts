'use client';

import type { z } from 'zod';
import { zodReason } from './i18n/zod-reason';

type TZodIssue = z.core.$ZodIssue;

// Browser-side calls to the console's REST API (`/api/...`). Errors come back as `{ error: { code, message, param } }`
// (lib/server/errors.ts); we surface them as ApiError so forms can put `param` errors beside the right field.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    /** The precise failure as a code + parameters (`error.reason`), when the server gave one. */
    readonly reason: TApiErrorReason | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What a toast says about a failed call: the API's (translated) message, else the thrown value as text. */
export function failureText(error: unknown): string {
  return error instanceof ApiError ? error.message : String(error);
}

export type TApiErrorReason = { code: string; params?: Record<string, unknown> };
type TLocalize = (e: { code: string; message: string; param: string | null; reason: TApiErrorReason | null }) => string;

let localize: TLocalize | null = null;

/**
 * Set by the I18nProvider: an ApiError's `message` is then the reader's language (lib/i18n/domain.ts apiErrorText),
 * so every form and toast that shows `error.message` shows it translated (issue 13, item 11).
 */
export function setApiErrorLocalizer(fn: TLocalize | null) {
  localize = fn;
}

/** A zod issue of a form's own validation, in the reader's language (the schemas' messages are English). */
export function issueMessage(issue: TZodIssue): string {
  if (!localize) return issue.message;
  return localize({ code: 'invalid_request', message: issue.message, param: null, reason: zodReason(issue) });
}

/** An `{ error }` body read by hand (not through api()) in the reader's language; `fallback` when there is none. */
export function apiErrorMessage(
  error: { code?: string; message?: string; param?: string | null; reason?: TApiErrorReason | null } | null | undefined,
  fallback: string,
): string {
  if (!error?.message) return fallback;
  const fields = {
    code: error.code ?? 'unknown',
    message: error.message,
    param: error.param ?? null,
    reason: error.reason ?? null,
  };
  return localize ? localize(fields) : fields.message;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'network');
  }
  const text = await response.text();
  const body = text ? safeJson(text) : null;
  if (!response.ok) {
    const error = (
      body as {
        error?: { code?: string; message?: string; param?: string | null; reason?: TApiErrorReason | null };
      } | null
    )?.error;
    const fields = {
      code: error?.code ?? 'unknown',
      message: error?.message ?? response.statusText,
      param: error?.param ?? null,
      reason: error?.reason ?? null,
    };
    throw new ApiError(
      response.status,
      fields.code,
      localize ? localize(fields) : fields.message,
      fields.param,
      fields.reason,
    );
  }
  return body as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** `{ data: [...] }` list envelope used by every list route. */
export type TList<T> = { data: T[] };
