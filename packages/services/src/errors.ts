import type { z } from 'zod';

/**
 * Why an operation refused, as a code a caller can branch on and an English sentence a person can act on. The
 * console maps the code to its HTTP answer (lib/server/errors.ts: invalid_request 400, not_found 404, conflict 409,
 * budget_exceeded 402, unavailable 503); the CLI prints `crucible <command>: <message>` and exits 1.
 */
export const SERVICE_ERROR_CODES = [
  /** The input names something that cannot be used (a draft version, a model not ready, a bad name). */
  'invalid_request',
  /** What the operation acts on does not exist in this workspace. */
  'not_found',
  /** The thing exists but its state forbids the operation (a finished job, a taken name). */
  'conflict',
  /** A dependency (the job queue) did not answer; trying again later may work. */
  'unavailable',
  /** The workspace's hard budget limit is reached: nothing new starts. */
  'budget_exceeded',
] as const;

export type TServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

type TZodIssue = z.core.$ZodIssue;

export class ServiceError extends Error {
  constructor(
    readonly code: TServiceErrorCode,
    message: string,
    /** The input field at fault, in the caller's input names (`baseModelId`, `trainingVersionId`, `name`). */
    readonly param: string | null = null,
    /** The schema issue behind an `invalid_request` from input validation (the console words it per locale). */
    readonly issue: TZodIssue | null = null,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Also true for a ServiceError of another copy of this module (a bundler may load a package twice). */
export function isServiceError(error: unknown): error is ServiceError {
  if (error instanceof ServiceError) return true;
  const e = error as { name?: unknown; code?: unknown } | null;
  return (
    !!e &&
    e.name === 'ServiceError' &&
    typeof e.code === 'string' &&
    (SERVICE_ERROR_CODES as readonly string[]).includes(e.code)
  );
}

/** Parses an operation's input; the first problem becomes an `invalid_request` naming its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.length ? issue.path.map(String).join('.') : null;
  throw new ServiceError('invalid_request', issue?.message ?? 'The request is not valid.', param, issue ?? null);
}
