import { z } from 'zod';

/**
 * The serving worker's internal HTTP API, the contract between the console's gateway (the client) and
 * workers/serving (the server), like the job payloads are for the queues:
 * - `GET /health` → `{ ok, holdings }`
 * - `POST /generate` with a `TGenerateRequest` → NDJSON lines: one `{"type":"start","promptTokens"}` when the
 *   request has a sequence and its prompt is tokenised (until then it waits in line and has cost nothing), then
 *   `{"type":"delta","text","completionTokens"}` while generating (completionTokens: generated so far), then one
 *   `{"type":"done", ...TGenerateResult}` or `{"type":"error","code","message"}`. The counts let the gateway bill
 *   what was generated when the answer is cut short (client gone, worker killed). An error before the first byte is
 *   a JSON body `{error: {code, message}}` with a 4xx/5xx status; `overloaded` (503, with Retry-After) means the
 *   worker's queue for that model is full or the request waited too long: try another worker or later.
 */

export const ZGenerateInput = z.object({
  kind: z.enum(['chat', 'completion']),
  messages: z.array(z.object({ role: z.string(), content: z.string() })).optional(),
  prompt: z.string().optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  maxTokens: z.number().int().min(0).max(32_768).optional(),
  stop: z.array(z.string()).max(4).optional(),
  seed: z.number().int().optional(),
  jsonSchema: z.unknown().optional(),
});
export type TGenerateInput = z.infer<typeof ZGenerateInput>;

/**
 * What to serve: a base model as it is, a fine-tuned model on its base, or a stored checkpoint of a training job
 * (evaluations: its adapter on the base, or its full weights), named by job and step.
 */
export const ZServingTarget = z.object({
  baseModelId: z.string().min(1),
  fineTunedModelId: z.string().min(1).nullish(),
  checkpoint: z.object({ jobId: z.string().min(1), step: z.number().int().min(0) }).nullish(),
});
export type TServingTarget = z.infer<typeof ZServingTarget>;

export const ZGenerateRequest = z.object({ target: ZServingTarget, input: ZGenerateInput });
export type TGenerateRequest = z.infer<typeof ZGenerateRequest>;

export type TGenerateResult = {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
};

export type TGenerateEvent =
  | { type: 'start'; promptTokens: number }
  | { type: 'delta'; text: string; completionTokens: number }
  | ({ type: 'done' } & TGenerateResult)
  | { type: 'error'; code: string; message: string };
