import { randomUUID } from 'node:crypto';
import { assertInferenceChargeable, chargeInference, isBillingError } from '@crucible/billing';
import { completeRequestLog, openRequestLog, storeRequestContent, type TRequestContentInput } from '@crucible/db';
import type { TGenerateEvent, TGenerateInput, TGenerateResult } from '@crucible/jobs';
import type { TGatewayCaller } from './auth';
import { GatewayError } from './errors';
import type { TResolvedModel } from './models';
import { rankWorkers, runningWorkers, type TServingWorker, trackRequest } from './workers';

/**
 * One request through a serving worker: POST {worker}/generate, read its NDJSON answer (the contract in
 * @crucible/jobs serving.ts), and record the request (RequestLog + usage ledger, keyed by the request id, so exactly
 * once) when it ends — however it ends.
 */

export type TWorkerInput = TGenerateInput;
export type TDone = TGenerateResult;

const newRequestId = () => randomUUID().replace(/-/g, '').slice(0, 24);

/** Opens the worker's answer stream, trying the next worker when one does not answer or is full. */
async function openWorker(
  model: TResolvedModel,
  input: TWorkerInput,
  signal: AbortSignal,
): Promise<{ res: Response; worker: TServingWorker; untrack: () => void }> {
  const listed = await runningWorkers();
  // no await between ranking and counting the first choice (see rankWorkers)
  const workers = rankWorkers(model, listed);
  let lastError: unknown;
  let overloaded: { message: string; retryAfter: string } | null = null;
  for (const w of workers) {
    let res: Response;
    // Counted against the worker from the moment it is chosen to the answer's last byte, so requests arriving
    // together spread over the replicas instead of all seeing the same (idle) figures.
    const untrack = trackRequest(w.workerId);
    try {
      res = await fetch(`${w.url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          target: { baseModelId: model.baseModelId, fineTunedModelId: model.fineTunedModelId },
          input,
        }),
        signal,
      });
    } catch (error) {
      untrack();
      if (signal.aborted) throw error;
      lastError = error;
      continue;
    }
    if (res.ok && res.body) return { res, worker: w, untrack };
    untrack();
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const code = body.error?.code ?? 'server_error';
    const message = body.error?.message ?? `The serving worker answered ${res.status}.`;
    if (res.status === 404) throw new GatewayError(404, 'invalid_request_error', 'model_not_found', message, 'model');
    if (res.status === 400) throw new GatewayError(400, 'invalid_request_error', code, message);
    if (code === 'overloaded') {
      // This worker's queue for the model is full: another worker may have room.
      overloaded = { message, retryAfter: res.headers.get('retry-after') ?? '2' };
      continue;
    }
    throw new GatewayError(503, 'server_error', code, message);
  }
  if (overloaded) {
    throw new GatewayError(503, 'server_error', 'overloaded', `The model is busy: ${overloaded.message}`, null, {
      'retry-after': overloaded.retryAfter,
    });
  }
  throw new GatewayError(
    503,
    'server_error',
    'no_serving_worker',
    `No serving worker answered (${(lastError as Error)?.message ?? 'none registered'}).`,
  );
}

async function* events(res: Response): AsyncGenerator<TGenerateEvent> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as TGenerateEvent;
      nl = buf.indexOf('\n');
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as TGenerateEvent;
}

/** (workspace, model) pairs found chargeable, until when: the price and budget lookups cost a few queries. */
const chargeable = new Map<string, number>();
const CHARGEABLE_MS = 5_000;

/**
 * Refuses, before anything is logged or generated, a request that could not be charged: a model with no price in
 * force for its prompt or completion tokens (403 `no_price`: the instance's or workspace's price lists name other
 * models only), or a workspace past its hard budget (402 `budget_exceeded`). A positive answer is kept 5 s.
 */
async function requireChargeable(workspaceId: string, model: string): Promise<void> {
  const key = `${workspaceId}\u0000${model}`;
  const now = Date.now();
  if ((chargeable.get(key) ?? 0) > now) return;
  try {
    await assertInferenceChargeable({ workspaceId, model });
  } catch (error) {
    chargeable.delete(key);
    if (!isBillingError(error)) throw error;
    if (error.code === 'budget_exceeded') {
      throw new GatewayError(402, 'invalid_request_error', 'budget_exceeded', error.message);
    }
    throw new GatewayError(403, 'invalid_request_error', error.code, error.message, 'model');
  }
  if (chargeable.size > 10_000) chargeable.clear();
  chargeable.set(key, now + CHARGEABLE_MS);
}

export type TRun = {
  requestId: string;
  created: number;
  /** The serving worker answering it (the x-crucible-served-by response header). */
  servedBy: string;
  /** Deltas as they come; ends with the final result (or throws a GatewayError). */
  stream: AsyncGenerator<{ text: string } | { done: TDone }>;
  abort: () => void;
};

/**
 * One request, from acceptance to its log line and its charge, however it ends (issue 11, finding 5):
 * - its RequestLog row is written when it is accepted, before anything else can go wrong;
 * - the client going away (`clientSignal`: a closed connection, before or during the answer) cancels the worker's
 *   generation, whether it is waiting in line there or already generating;
 * - what is charged is what the worker reported generating (its `start` and `delta` counts), so an answer cut short
 *   by the client or by a dying worker is billed for what it cost, and one that never started costs nothing.
 */
export async function runGeneration(o: {
  caller: TGatewayCaller;
  model: TResolvedModel;
  input: TWorkerInput;
  endpoint: string;
  stream: boolean;
  idPrefix: string;
  clientSignal?: AbortSignal;
  /**
   * Keep the request's messages and what was generated (request logs, issue 16): its deployment keeps requests, or
   * it said `store: true`. Written when the request ends, however it ends, after its RequestLog row.
   */
  keep?: Pick<TRequestContentInput, 'source' | 'messages' | 'metadata' | 'retentionDays'> | null;
}): Promise<TRun> {
  await requireChargeable(o.caller.workspaceId, o.model.openaiId);
  const t0 = Date.now();
  const requestId = `${o.idPrefix}-${newRequestId()}`;
  const controller = new AbortController();
  const onClientGone = () => controller.abort(new Error('client disconnected'));
  if (o.clientSignal?.aborted) onClientGone();
  o.clientSignal?.addEventListener('abort', onClientGone, { once: true });
  let firstTokenAt: number | null = null;
  let promptTokens = 0;
  let completionTokens = 0;
  let answer = '';
  let recorded = false;
  const who = {
    requestId,
    workspaceId: o.caller.workspaceId,
    model: o.model.openaiId,
    deploymentId: o.model.deploymentId,
    apiKeyId: o.caller.apiKeyId,
    userId: o.caller.userId,
    endpoint: o.endpoint,
    stream: o.stream,
  };
  await openRequestLog(who);

  const record = async (
    statusCode: number,
    how: { status?: 'completed' | 'cancelled' | 'failed'; finishReason?: string; errorCode?: string | null },
  ) => {
    if (recorded) return;
    recorded = true;
    o.clientSignal?.removeEventListener('abort', onClientGone);
    // Charged first, then the log row completed (whatever the charge did): a completed row means its charge is in.
    await chargeInference({
      requestId,
      workspaceId: who.workspaceId,
      model: who.model,
      modelId: o.model.modelId,
      inputTokens: promptTokens,
      outputTokens: completionTokens,
      deploymentId: who.deploymentId,
      apiKeyId: who.apiKeyId,
      userId: who.userId,
    }).catch((e) => console.error(`[v1 gateway] could not charge request ${requestId}:`, e));
    await completeRequestLog({
      ...who,
      modelId: o.model.modelId,
      statusCode,
      promptTokens,
      completionTokens,
      latencyMs: Date.now() - t0,
      timeToFirstTokenMs: firstTokenAt === null ? null : firstTokenAt - t0,
      ...how,
    }).catch((e) => console.error(`[v1 gateway] could not record request ${requestId}:`, e));
    if (o.keep) {
      await storeRequestContent({ ...o.keep, requestId, workspaceId: who.workspaceId, answer }).catch((e) =>
        console.error(`[v1 gateway] could not keep request ${requestId}:`, e),
      );
    }
  };
  /** The end of a request that did not finish: cancelled when the client left, failed otherwise. */
  const cut = (error: unknown) =>
    controller.signal.aborted
      ? record(499, { status: 'cancelled', errorCode: 'client_disconnected' })
      : record(error instanceof GatewayError ? error.status : 502, {
          status: 'failed',
          errorCode: error instanceof GatewayError ? error.code : 'worker_failed',
        });

  let res: Response;
  let worker: TServingWorker;
  let untrack: () => void;
  try {
    ({ res, worker, untrack } = await openWorker(o.model, o.input, controller.signal));
  } catch (error) {
    await cut(error);
    // Nobody reads the answer of a client that left; the request is logged as cancelled above.
    if (controller.signal.aborted) throw clientGone();
    throw error;
  }

  async function* stream() {
    let done: TDone | null = null;
    try {
      for await (const ev of events(res)) {
        if (ev.type === 'start') {
          promptTokens = ev.promptTokens;
        } else if (ev.type === 'delta') {
          firstTokenAt ??= Date.now();
          completionTokens = ev.completionTokens ?? completionTokens;
          answer += ev.text;
          yield { text: ev.text };
        } else if (ev.type === 'done') {
          done = ev;
          answer = ev.text;
          promptTokens = ev.promptTokens;
          completionTokens = ev.completionTokens;
        } else {
          throw new GatewayError(500, 'server_error', ev.code, ev.message);
        }
      }
      if (!done) throw workerFailed(completionTokens);
      firstTokenAt ??= Date.now();
      await record(200, { status: 'completed', finishReason: done.finishReason });
      yield { done };
    } catch (error) {
      await cut(error);
      // A dropped connection to the worker (it was killed: undici says "terminated") is the worker's failure.
      throw error instanceof GatewayError || controller.signal.aborted ? error : workerFailed(completionTokens);
    } finally {
      untrack();
      if (!recorded) {
        // The consumer stopped reading (client went away): stop the worker and log the request.
        controller.abort(new Error('client disconnected'));
        await record(499, { status: 'cancelled', errorCode: 'client_disconnected' });
      }
    }
  }

  return {
    requestId,
    created: Math.floor(t0 / 1000),
    servedBy: worker.workerId,
    stream: stream(),
    abort: () => {
      untrack();
      controller.abort(new Error('client disconnected'));
    },
  };
}

const workerFailed = (delivered: number) =>
  new GatewayError(
    502,
    'server_error',
    'worker_failed',
    `The serving worker stopped mid-answer after ${delivered} token(s); those are billed, the rest was not generated. Retry the request.`,
  );

const clientGone = () =>
  new GatewayError(499, 'invalid_request_error', 'client_disconnected', 'The client closed the connection.');
