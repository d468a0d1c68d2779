/**
 * The two error shapes the console answers with, for every status (issue 11, finding 10): one body per API, whoever
 * produced the error — a route, the gateway, the storage routes, better-auth, or the framework itself (404 for a
 * path with no route, 405, 500; see frontdoor.ts).
 *
 * - `/api/*`: `{ "error": { "type", "code", "message", "param", "reason"? } }`; `code` is the program's branch
 *   (APP_ERROR_STATUS in errors.ts), `type` the class of failure by status (TYPE_BY_STATUS below), `reason`
 *   (`{ code, params }`, when known) the precise failure the console shows in the reader's language.
 * - `/v1/*`: OpenAI's `{ "error": { "message", "type", "param", "code" } }`, with OpenAI's types.
 */
export type TErrorFamily = 'api' | 'v1';

export type TErrorFields = {
  status: number;
  code: string | null;
  message: string;
  param: string | null;
  /** `/api/*` only: the precise failure as a code + parameters the console translates (errors.ts, TErrorReason). */
  reason?: { code: string; params: Record<string, unknown> } | null;
};

const API_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

// OpenAI's types: invalid_request_error (also for 404), authentication_error, permission_error, "requests" for
// rate limits, server_error.
const V1_TYPE: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  429: 'requests',
};

function errorType(family: TErrorFamily, status: number): string {
  if (family === 'api') return API_TYPE[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  return V1_TYPE[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
}

export function errorBody(family: TErrorFamily, e: TErrorFields) {
  const type = errorType(family, e.status);
  return family === 'api'
    ? { error: { type, code: e.code, message: e.message, param: e.param, ...(e.reason ? { reason: e.reason } : {}) } }
    : { error: { message: e.message, type, param: e.param, code: e.code } };
}
