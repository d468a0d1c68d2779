import type { z } from 'zod';
import { AppError, fromZodError, toResponse } from './errors';

type TParams = Record<string, string>;
export type THandler = (req: Request, params: TParams) => Promise<Response>;

/**
 * JSON that survives Prisma's types: BigInt (token counts) becomes a number
 * when it fits exactly and a string when it does not; Decimal already
 * serialises itself as a string.
 */
export function json(data: unknown, init: ResponseInit = {}): Response {
  const body = JSON.stringify(data, (_key, value) =>
    typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value,
  );
  const headers = new Headers(init.headers);
  headers.set('content-type', 'application/json');
  return new Response(body, { ...init, headers });
}

/**
 * Request body limits, one table (issue 11, finding 6: a 50 MB chat body was parsed whole). A body over its limit
 * is refused with 413 before it is read past the limit; the Content-Length, when sent, refuses it before reading at
 * all. Documented in README.md (Configuration) and docs/ARCHITECTURE.md (Security).
 */
export const BODY_LIMITS = Object.freeze({
  /** Every /api JSON body unless named below. */
  json: 1024 * 1024,
  /** Row edits of a dataset version (many rows in one request). */
  datasetEdits: 16 * 1024 * 1024,
  /** POST /v1/chat/completions and /v1/completions (GATEWAY_MAX_BODY_BYTES). */
  chat: Number(process.env.GATEWAY_MAX_BODY_BYTES) > 0 ? Number(process.env.GATEWAY_MAX_BODY_BYTES) : 4 * 1024 * 1024,
} satisfies Record<string, number>);

const tooLarge = (limit: number) =>
  new AppError('payload_too_large', `The request body is larger than this route's limit of ${limit} bytes.`, 'body');

/** `application/json` or any `+json` type; an empty body needs none. */
function isJsonType(contentType: string | null): boolean {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return t === 'application/json' || t.endsWith('+json');
}

/** The body as text, at most `limit` bytes (413 past it), read as it streams so nothing larger is ever held. */
export async function readText(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The body parsed as JSON (undefined when empty). A non-empty body must say it is JSON (415 otherwise: text/plain
 * and XML bodies were parsed as JSON, and a text/plain POST is one a foreign page can send without a preflight).
 */
export async function readJson(req: Request, limit: number = BODY_LIMITS.json): Promise<unknown> {
  const text = await readText(req, limit);
  if (text.trim() === '') return undefined;
  if (!isJsonType(req.headers.get('content-type'))) {
    throw new AppError(
      'unsupported_media_type',
      'Send the body as JSON with Content-Type: application/json.',
      'content-type',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'The request body must be JSON.', 'body');
  }
  const nul = findNul(value);
  if (nul !== null) {
    throw new AppError(
      'invalid_request',
      `${nul || 'The body'} holds a NUL character (\\u0000); remove it.`,
      nul || 'body',
    );
  }
  return value;
}

/**
 * The path (`messages.0.content`) of the first string or key holding U+0000, or null. Postgres refuses 0x00 in text
 * ("invalid byte sequence"), which surfaced as a 500 (issue 11, finding 9). Iterative: bodies can nest deeply.
 */
function findNul(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, at] = stack.pop() as [unknown, string];
    if (typeof v === 'string') {
      if (v.includes('\0')) return at;
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const path = at ? `${at}.${k}` : k;
        if (k.includes('\0')) return path;
        stack.push([child, path]);
      }
    }
  }
  return null;
}

/** Reads and validates a JSON body; a malformed or invalid body is a 400 naming the field. */
export async function readBody<S extends z.ZodType>(
  req: Request,
  schema: S,
  limit: number = BODY_LIMITS.json,
): Promise<z.infer<S>> {
  const raw = (await readJson(req, limit)) ?? {};
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

/** Wraps a handler so every thrown error becomes a JSON error response. */
export function route(handler: THandler): THandler {
  return async (req, params) => {
    try {
      return await handler(req, params);
    } catch (error) {
      return toResponse(error);
    }
  };
}

/** A file to save (CSV or JSONL exports): `attachment` with the name given (?format=csv on ledger, statement, ...). */
export function download(body: string, filename: string, type = 'text/csv; charset=utf-8'): Response {
  return new Response(body, {
    headers: { 'content-type': type, 'content-disposition': `attachment; filename="${filename}"` },
  });
}
