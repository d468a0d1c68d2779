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

// SQLSTATEs that mean "the database is not there right now", not "this query is wrong": connection exceptions
// (class 08), administrator/crash shutdown and startup (57P01-57P03), too many connections (53300), and a database
// that refuses new connections (55000 "not currently accepting connections", ALTER DATABASE ... ALLOW_CONNECTIONS
// false). Prisma's own codes for the same: can't reach (P1001), timed out (P1002), connection closed (P1017), pool
// timeout (P2024).
const UNAVAILABLE_SQLSTATE = /^(08|57P0[123]$|53300$)/;
const UNAVAILABLE_PRISMA = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const UNAVAILABLE_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * True when an error from a data-access call means the database could not be reached (an outage), so the caller
 * answers 503 with Retry-After or keeps the write for later, instead of treating it as a bug (500) or bad input.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length) {
    const e = queue.shift() as Record<string, unknown> | null | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = typeof e.code === 'string' ? e.code : typeof e.errorCode === 'string' ? e.errorCode : '';
    if (UNAVAILABLE_PRISMA.has(code) || UNAVAILABLE_NODE.has(code) || UNAVAILABLE_SQLSTATE.test(code)) return true;
    const message = typeof e.message === 'string' ? e.message : '';
    if (code === '55000' && /not currently accepting connections/.test(message)) return true;
    if (
      /Can't reach database server|Connection terminated|connection (is )?closed|not currently accepting connections/i.test(
        message,
      )
    )
      return true;
    if (e.name === 'PrismaClientInitializationError') return true;
    const meta = e.meta as Record<string, unknown> | undefined;
    queue.push(e.cause, meta?.driverAdapterError, (meta?.driverAdapterError as Record<string, unknown>)?.cause);
  }
  return false;
}
