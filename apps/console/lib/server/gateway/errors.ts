import { errorBody } from '../error-shape';
import { normalise } from '../errors';
import type { THandler } from '../http';

/** OpenAI's error shape `{error: {message, type, param, code}}` with OpenAI's status codes. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// OpenAI's codes where ours differ; the rest pass through.
const OPENAI_CODE: Record<string, string> = { unauthorized: 'invalid_api_key', rate_limited: 'rate_limit_exceeded' };

/** OpenAI's error shape for any error a /v1 route throws (error-shape.ts): the one mapper of every /v1 route. */
function openaiErrorResponse(error: unknown): Response {
  if (error instanceof GatewayError) {
    return Response.json(
      errorBody('v1', { status: error.status, code: error.code, message: error.message, param: error.param }),
      { status: error.status, headers: error.headers },
    );
  }
  const e = normalise(error);
  if (e.code === 'internal_error') console.error('[v1] unexpected error', error);
  return Response.json(
    errorBody('v1', { status: e.status, code: OPENAI_CODE[e.code] ?? e.code, message: e.message, param: e.param }),
    { status: e.status, headers: e.headers },
  );
}

export function openaiRoute(handler: THandler): THandler {
  return async (req, params) => {
    try {
      return await handler(req, params);
    } catch (error) {
      return openaiErrorResponse(error);
    }
  };
}

export const modelNotFound = (model: string) =>
  new GatewayError(
    404,
    'invalid_request_error',
    'model_not_found',
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'model',
  );
