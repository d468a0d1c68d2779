import { AppError } from '../errors';
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

const TYPE_OF_APP: Record<string, string> = {
  invalid_request: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'invalid_request_error',
  conflict: 'invalid_request_error',
  unavailable: 'server_error',
};

export function openaiErrorResponse(error: unknown): Response {
  if (error instanceof GatewayError) {
    return Response.json(
      { error: { message: error.message, type: error.type, param: error.param, code: error.code } },
      { status: error.status, headers: error.headers },
    );
  }
  if (error instanceof AppError) {
    return Response.json(
      {
        error: {
          message: error.message,
          type: TYPE_OF_APP[error.code] ?? 'server_error',
          param: error.param,
          code: error.code === 'unauthorized' ? 'invalid_api_key' : error.code,
        },
      },
      { status: error.status },
    );
  }
  console.error('[v1 gateway] unexpected error', error);
  return Response.json(
    { error: { message: 'Something went wrong on our side.', type: 'server_error', param: null, code: null } },
    { status: 500 },
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
