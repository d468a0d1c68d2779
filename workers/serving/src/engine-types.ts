/** What the engine serves and how a request and its answer look (shared by the engine, the server and tests). */

export type { TGenerateInput, TGenerateResult, TServingTarget as TTarget } from '@crucible/jobs';

export class EngineError extends Error {
  constructor(
    readonly code:
      | 'model_not_found'
      | 'model_unavailable'
      | 'context_length_exceeded'
      | 'invalid_request'
      /** the model's queue here is full, or the request waited too long for a sequence: retry elsewhere or later */
      | 'overloaded',
    message: string,
  ) {
    super(message);
  }
}

/** Where one generation reports to: `start` once it has a sequence and a tokenised prompt, then each piece of text. */
export type TGenerateSink = {
  start(promptTokens: number): void;
  text(text: string, completionTokens: number): void;
};
