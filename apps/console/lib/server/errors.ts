import { isDatabaseUnavailable } from '@crucible/db';
import { isServiceError, type ServiceError } from '@crucible/services/errors';
import { ZodError } from 'zod';
import { type TErrorReason, zodReason } from '../i18n/zod-reason';
import { errorBody } from './error-shape';

/**
 * Every failure a route can answer with, as a code a program can branch on and
 * a sentence a person can read. `not_found` is also the answer for "exists,
 * but not in a workspace you belong to": telling strangers a resource exists
 * would leak it (tenant isolation).
 */
export const APP_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
} as const;

export type TAppErrorCode = keyof typeof APP_ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: TAppErrorCode,
    message: string,
    readonly param: string | null = null,
    /** Extra response headers (Retry-After on 429/503). */
    readonly headers: Record<string, string> = {},
    /**
     * The precise failure as a stable code + parameters (issue 13, item 11): the console shows it in the reader's
     * language (`validation.*` in its catalogues) while `message` stays English for API users.
     */
    readonly reason: TErrorReason | null = null,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return APP_ERROR_STATUS[this.code];
  }
}

/**
 * An AppError whose code is `budget_exceeded` (HTTP 402): the shared error table has no such code, so this
 * subclass carries its own code and status; toResponse() answers `{ error: { code: 'budget_exceeded', ... } }`.
 */
class BudgetExceededError extends AppError {
  constructor(message: string) {
    super('conflict', message, null);
    Object.defineProperty(this, 'code', { value: 'budget_exceeded' as TAppErrorCode });
  }
  override get status(): number {
    return 402;
  }
}

/**
 * A refusal of a platform operation (@crucible/services) as an API error: its code maps one to one (budget_exceeded
 * is 402), its param and message pass through, an input-schema issue keeps its reason for the reader's language.
 */
export function fromServiceError(error: ServiceError): AppError {
  if (error.code === 'budget_exceeded') return new BudgetExceededError(error.message);
  return new AppError(error.code, error.message, error.param, {}, error.issue ? zodReason(error.issue) : null);
}

/** Seconds a client is told to wait when a dependency (the database) is down. */
const OUTAGE_RETRY_AFTER_S = 5;

/** The database is not answering: 503 with Retry-After, never a 500 (issue 11, finding 4). */
export const databaseUnavailable = () =>
  new AppError('unavailable', 'The database is not answering right now; try again in a few seconds.', null, {
    'retry-after': String(OUTAGE_RETRY_AFTER_S),
  });

/** Turns a ZodError into an `invalid_request` naming the first bad field. */
export function fromZodError(error: ZodError): AppError {
  const issue = error.issues[0];
  const param = issue?.path.length ? issue.path.join('.') : null;
  return new AppError(
    'invalid_request',
    issue?.message ?? 'The request is not valid.',
    param,
    {},
    issue ? zodReason(issue) : null,
  );
}

/** Error shapes from other packages (better-auth, @crucible/auth, Prisma) mapped to ours. */
export function normalise(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) return fromZodError(error);
  if (isServiceError(error)) return fromServiceError(error);
  if (isDatabaseUnavailable(error)) return databaseUnavailable();
  if (error && typeof error === 'object') {
    const e = error as { name?: string; code?: unknown; message?: unknown; param?: unknown; status?: unknown };
    // AdminError (@crucible/auth), DatasetStoreError (@crucible/dataset-store): a code of ours and a sentence.
    if ((e.name === 'AdminError' || e.name === 'DatasetStoreError') && typeof e.code === 'string') {
      const code = (e.code === 'invalid' ? 'invalid_request' : e.code) as TAppErrorCode;
      if (code in APP_ERROR_STATUS) {
        return new AppError(code, String(e.message), typeof e.param === 'string' ? e.param : null);
      }
    }
  }
  return new AppError('internal_error', 'Something went wrong on our side.');
}

/** `{ error: { type, code, message, param } }` with the status that goes with the code (error-shape.ts). */
export function toResponse(error: unknown): Response {
  const appError = normalise(error);
  if (appError.code === 'internal_error') console.error('[api] unexpected error', error);
  return Response.json(
    errorBody('api', {
      status: appError.status,
      code: appError.code,
      message: appError.message,
      param: appError.param,
      reason: appError.reason,
    }),
    { status: appError.status, headers: appError.headers },
  );
}
