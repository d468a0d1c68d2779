import type { z } from 'zod';
import { AppError, fromZodError, toResponse } from './errors';

export type TParams = Record<string, string>;
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

/** Reads and validates a JSON body; a malformed or invalid body is a 400 naming the field. */
export async function readBody<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    const text = await req.text();
    raw = text ? JSON.parse(text) : {};
  } catch {
    throw new AppError('invalid_request', 'The request body must be JSON.');
  }
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
