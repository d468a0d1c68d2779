export type TDbErrorCode =
  /** A usage record re-used an idempotency key that belongs to another workspace or category. */
  | 'idempotency_conflict'
  /** Input to a data-access function failed validation. */
  | 'invalid_input';

/** A data-access error with a stable code and a sentence a person can act on. */
export class DbError extends Error {
  readonly code: TDbErrorCode;
  constructor(code: TDbErrorCode, message: string) {
    super(message);
    this.name = 'DbError';
    this.code = code;
  }
}

/** True for Prisma's unique-constraint violation (P2002), optionally on the given field. */
export function isUniqueViolation(error: unknown, field?: string): boolean {
  const e = error as { code?: string; meta?: { target?: unknown } } | null;
  if (e?.code !== 'P2002') return false;
  if (!field) return true;
  const target = e.meta?.target;
  return Array.isArray(target) ? target.includes(field) : String(target ?? '').includes(field);
}
