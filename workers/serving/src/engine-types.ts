/** What the engine serves and how a request and its answer look (shared by the engine, the server and tests). */

export type { TGenerateInput, TGenerateResult, TServingTarget as TTarget } from '@crucible/jobs';

export class EngineError extends Error {
  constructor(
    readonly code: 'model_not_found' | 'model_unavailable' | 'context_length_exceeded' | 'invalid_request',
    message: string,
  ) {
    super(message);
  }
}
