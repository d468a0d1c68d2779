import { ZodError } from 'zod';

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
  conflict: 409,
  internal_error: 500,
  unavailable: 503,
} as const;

export type TAppErrorCode = keyof typeof APP_ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: TAppErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return APP_ERROR_STATUS[this.code];
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export const notFound = (what = 'resource') => new AppError('not_found', `No such ${what}.`);

/** Turns a ZodError into an `invalid_request` naming the first bad field. */
export function fromZodError(error: ZodError): AppError {
  const issue = error.issues[0];
  const param = issue?.path.length ? issue.path.join('.') : null;
  return new AppError('invalid_request', issue?.message ?? 'The request is not valid.', param);
}

/** Error shapes from other packages (better-auth, @crucible/auth) mapped to ours. */
function normalise(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) return fromZodError(error);
  if (error && typeof error === 'object') {
    const e = error as { name?: string; code?: unknown; message?: unknown; param?: unknown; status?: unknown };
    if (e.name === 'AdminError' && typeof e.code === 'string') {
      const code = (e.code === 'invalid' ? 'invalid_request' : e.code) as TAppErrorCode;
      if (code in APP_ERROR_STATUS) {
        return new AppError(code, String(e.message), typeof e.param === 'string' ? e.param : null);
      }
    }
  }
  return new AppError('internal_error', 'Something went wrong on our side.');
}

/** `{ error: { code, message, param } }` with the status that goes with the code. */
export function toResponse(error: unknown): Response {
  const appError = normalise(error);
  if (appError.code === 'internal_error') console.error('[api] unexpected error', error);
  return Response.json(
    { error: { code: appError.code, message: appError.message, param: appError.param } },
    { status: appError.status },
  );
}
