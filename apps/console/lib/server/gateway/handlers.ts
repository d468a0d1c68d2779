import { DEFAULT_LOG_RETENTION_DAYS } from '@crucible/db';
import { z } from 'zod';
import { fromZodError } from '../errors';
import { BODY_LIMITS, readJson } from '../http';
import { ZMetadata } from '../request-logs/logs';
import { deleteFineTunedModelOf } from '../routes/models';
import { gatewayCaller } from './auth';
import { GatewayError, modelNotFound, openaiRoute } from './errors';
import { runGeneration, type TDone, type TRun, type TWorkerInput } from './generate';
import { listWorkspaceModels, resolveModel, type TGatewayModel } from './models';

/**
 * The OpenAI-compatible gateway: POST /v1/chat/completions, POST /v1/completions, GET /v1/models (list, retrieve),
 * DELETE /v1/models/{model}. The console never
 * runs inference: each request goes to a serving worker over HTTP (./generate.ts) and the answer is streamed back
 * as OpenAI's SSE chunks (`data: {...}\n\n`, a usage chunk when `stream_options.include_usage`, then
 * `data: [DONE]`).
 */

const ZContent = z.union([
  z.string(),
  z.array(z.object({ type: z.string(), text: z.string().optional() })).transform((parts) =>
    parts
      .filter((p) => p.type === 'text')
      .map((p) => p.text ?? '')
      .join(''),
  ),
]);

/**
 * How deep a response_format schema may nest. A schema nested 100,000 levels overflowed the stack when it was
 * serialised for the worker and came back as 503 "no serving worker" (issue 11, finding 9); real schemas are a few
 * levels deep.
 */
const MAX_SCHEMA_DEPTH = 64;

/** Nesting depth of a JSON value, without recursion (the value itself may be deep enough to overflow it). */
function nestingDepth(value: unknown, stopAfter = MAX_SCHEMA_DEPTH + 1): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest >= stopAfter) return deepest;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const ZCommon = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).max(32_768).nullish(),
  max_completion_tokens: z.number().int().min(1).max(32_768).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1).nullish(),
  user: z.string().nullish(),
};

const ZChatRequest = z.object({
  ...ZCommon,
  /** Keep this completion (OpenAI's stored completions), whatever its deployment's request-log setting says. */
  store: z.boolean().nullish(),
  metadata: ZMetadata.nullish(),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: ZContent.nullish().transform((c) => c ?? ''),
      }),
    )
    .min(1),
  response_format: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('text') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object({
          name: z.string().optional(),
          schema: z
            .record(z.string(), z.unknown())
            .refine(
              (schema) => nestingDepth(schema) <= MAX_SCHEMA_DEPTH,
              `The schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels.`,
            ),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .nullish(),
});

const ZCompletionRequest = z.object({
  ...ZCommon,
  prompt: z.union([
    z.string(),
    z
      .array(z.string())
      .length(1)
      .transform((a) => a[0]),
  ]),
});

async function parse<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  const raw = await readJson(req, BODY_LIMITS.chat);
  if (raw === undefined) {
    throw new GatewayError(400, 'invalid_request_error', 'invalid_json', 'The request body must be JSON.');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const e = fromZodError(parsed.error);
    throw new GatewayError(400, 'invalid_request_error', 'invalid_value', e.message, e.param);
  }
  return parsed.data;
}

function common(body: z.infer<z.ZodObject<typeof ZCommon>>): Omit<TWorkerInput, 'kind'> {
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    stop: body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
    seed: body.seed ?? undefined,
  };
}

const usageOf = (d: TDone) => ({
  prompt_tokens: d.promptTokens,
  completion_tokens: d.completionTokens,
  total_tokens: d.promptTokens + d.completionTokens,
});

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** Streams a run as SSE: `chunk(text)` per delta, `final(done)` chunks at the end, then `data: [DONE]`. */
function sse(run: TRun, chunk: (text: string) => unknown, final: (done: TDone) => unknown[], requestId: string) {
  const encoder = new TextEncoder();
  const send = (c: ReadableStreamDefaultController, data: unknown) =>
    c.enqueue(encoder.encode(`data: ${JSON.stringify(data)}\n\n`));
  const body = new ReadableStream({
    async pull(controller) {
      try {
        const next = await run.stream.next();
        if (next.done) {
          controller.close();
          return;
        }
        const v = next.value;
        if ('text' in v) send(controller, chunk(v.text));
        else {
          for (const c of final(v.done)) send(controller, c);
          controller.enqueue(encoder.encode('data: [DONE]\n\n'));
        }
      } catch (error) {
        // Headers are gone: report the error the way OpenAI's stream does, as an event with an error object, then
        // end the stream properly so clients stop reading instead of waiting on a half-closed body.
        const e =
          error instanceof GatewayError
            ? error
            : new GatewayError(502, 'server_error', 'worker_failed', 'The answer was cut short.');
        send(controller, { error: { message: e.message, type: e.type, param: null, code: e.code } });
        controller.enqueue(encoder.encode('data: [DONE]\n\n'));
        controller.close();
      }
    },
    async cancel() {
      await run.stream.return(undefined);
    },
  });
  return new Response(body, {
    headers: { ...SSE_HEADERS, 'x-request-id': requestId, 'x-crucible-served-by': run.servedBy },
  });
}

async function collect(run: TRun): Promise<TDone> {
  for await (const v of run.stream) if ('done' in v) return v.done;
  throw new GatewayError(502, 'server_error', 'worker_failed', 'The serving worker stopped mid-answer.');
}

export const chatCompletions = openaiRoute(async (req) => {
  const caller = await gatewayCaller(req);
  const rate = caller.rate;
  const body = await parse(req, ZChatRequest);
  const model = await resolveModel(caller.workspaceId, body.model);
  const stream = body.stream === true;
  // Kept when the request says `store: true` (as OpenAI keeps it) or its deployment keeps requests (issue 16).
  const keep =
    body.store === true || model.logRequests
      ? {
          source: body.store === true ? ('store' as const) : ('deployment' as const),
          messages: body.messages,
          metadata: body.metadata ?? null,
          retentionDays: model.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
        }
      : null;
  const run = await runGeneration({
    caller,
    model,
    endpoint: '/v1/chat/completions',
    stream,
    idPrefix: 'chatcmpl',
    clientSignal: req.signal,
    keep,
    input: {
      kind: 'chat',
      messages: body.messages,
      ...common(body),
      jsonSchema: body.response_format?.type === 'json_schema' ? body.response_format.json_schema.schema : undefined,
    },
  });
  const head = { id: run.requestId, created: run.created, model: model.openaiId, system_fingerprint: null };
  const rateHeaders: Record<string, string> = rate
    ? { 'x-ratelimit-limit-requests': String(rate.limit), 'x-ratelimit-remaining-requests': String(rate.remaining) }
    : {};
  if (!stream) {
    const done = await collect(run);
    return Response.json(
      {
        ...head,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: done.text, refusal: null },
            logprobs: null,
            finish_reason: done.finishReason,
          },
        ],
        usage: usageOf(done),
      },
      { headers: { 'x-request-id': run.requestId, 'x-crucible-served-by': run.servedBy, ...rateHeaders } },
    );
  }
  const includeUsage = body.stream_options?.include_usage === true;
  let first = true;
  const chunk = (choices: unknown[], extra: object = {}) => ({
    ...head,
    object: 'chat.completion.chunk',
    choices,
    ...extra,
  });
  return sse(
    run,
    (text) => {
      const delta = first ? { role: 'assistant', content: text } : { content: text };
      first = false;
      return chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
    },
    (done) => [
      chunk([
        {
          index: 0,
          delta: first ? { role: 'assistant', content: '' } : {},
          logprobs: null,
          finish_reason: done.finishReason,
        },
      ]),
      ...(includeUsage ? [chunk([], { usage: usageOf(done) })] : []),
    ],
    run.requestId,
  );
});

export const completions = openaiRoute(async (req) => {
  const caller = await gatewayCaller(req);
  const body = await parse(req, ZCompletionRequest);
  const model = await resolveModel(caller.workspaceId, body.model);
  const stream = body.stream === true;
  const run = await runGeneration({
    caller,
    model,
    endpoint: '/v1/completions',
    stream,
    idPrefix: 'cmpl',
    clientSignal: req.signal,
    input: { kind: 'completion', prompt: body.prompt, ...common(body) },
  });
  const head = { id: run.requestId, object: 'text_completion', created: run.created, model: model.openaiId };
  if (!stream) {
    const done = await collect(run);
    return Response.json(
      {
        ...head,
        choices: [{ text: done.text, index: 0, logprobs: null, finish_reason: done.finishReason }],
        usage: usageOf(done),
      },
      { headers: { 'x-request-id': run.requestId, 'x-crucible-served-by': run.servedBy } },
    );
  }
  const includeUsage = body.stream_options?.include_usage === true;
  return sse(
    run,
    (text) => ({ ...head, choices: [{ text, index: 0, logprobs: null, finish_reason: null }] }),
    (done) => [
      { ...head, choices: [{ text: '', index: 0, logprobs: null, finish_reason: done.finishReason }] },
      ...(includeUsage ? [{ ...head, choices: [], usage: usageOf(done) }] : []),
    ],
    run.requestId,
  );
});

const modelObject = (m: TGatewayModel) => ({
  id: m.openaiId,
  object: 'model',
  created: Math.floor(m.createdAt.getTime() / 1000),
  owned_by: m.ownedBy,
  crucible: { id: m.id, kind: m.kind, name: m.name, deployed: m.deployed },
});

export const listModelsV1 = openaiRoute(async (req) => {
  const caller = await gatewayCaller(req);
  const models = await listWorkspaceModels(caller.workspaceId);
  return Response.json({ object: 'list', data: models.map(modelObject) });
});

/** GET /v1/models/{model}: one model by its id (or its Crucible id), as OpenAI's retrieve answers. */
export const retrieveModelV1 = openaiRoute(async (req, { model }) => {
  const caller = await gatewayCaller(req);
  const m = (await listWorkspaceModels(caller.workspaceId)).find((x) => x.openaiId === model || x.id === model);
  if (!m) throw modelNotFound(model);
  return Response.json(modelObject(m));
});

/**
 * DELETE /v1/models/{model}: deletes a fine-tuned model, as OpenAI's does (`{id, object: "model", deleted: true}`);
 * base models are not the caller's to delete (403), and a model a running deployment serves is refused (409).
 */
export const deleteModelV1 = openaiRoute(async (req, { model }) => {
  const caller = await gatewayCaller(req);
  const resolved = await resolveModel(caller.workspaceId, model);
  if (resolved.kind !== 'fine_tuned') {
    throw new GatewayError(
      403,
      'invalid_request_error',
      'model_not_deletable',
      `\`${resolved.openaiId}\` is a base model; only fine-tuned models can be deleted through this API.`,
      'model',
    );
  }
  await deleteFineTunedModelOf(
    req,
    {
      workspaceId: caller.workspaceId,
      ...(caller.apiKeyId ? { apiKey: { id: caller.apiKeyId } } : {}),
      ...(caller.userId ? { user: { id: caller.userId } } : {}),
    },
    resolved.modelId,
  );
  return Response.json({ id: resolved.openaiId, object: 'model', deleted: true });
});
