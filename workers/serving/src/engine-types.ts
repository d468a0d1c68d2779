/** What the engine serves and how a request and its answer look (shared by the engine, the server and tests). */

export type TTarget = { baseModelId: string; fineTunedModelId?: string | null };

export type TGenerateInput = {
  kind: 'chat' | 'completion';
  messages?: { role: string; content: string }[];
  prompt?: string;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  jsonSchema?: unknown;
};

export type TGenerateResult = {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
};

export class EngineError extends Error {
  constructor(
    readonly code: 'model_not_found' | 'model_unavailable' | 'context_length_exceeded' | 'invalid_request',
    message: string,
  ) {
    super(message);
  }
}
