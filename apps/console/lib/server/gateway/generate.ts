import { randomUUID } from 'node:crypto';
import { recordInference } from '@crucible/db';
import type { TGenerateEvent, TGenerateInput, TGenerateResult } from '@crucible/jobs';
import type { TGatewayCaller } from './auth';
import { GatewayError } from './errors';
import type { TResolvedModel } from './models';
import { rankWorkers, runningWorkers, type TServingWorker, trackRequest } from './workers';

/**
 * One request through a serving worker: POST {worker}/generate, read its NDJSON answer, and record the request
 * (RequestLog + usage ledger, keyed by the request id, so exactly once) when it ends — however it ends.
 */

export type TWorkerInput = TGenerateInput;
export type TDone = TGenerateResult;

const newRequestId = () => randomUUID().replace(/-/g, '').slice(0, 24);

/** Opens the worker's answer stream, trying the next worker when one does not answer (a stale registry entry). */
async function openWorker(
  model: TResolvedModel,
  input: TWorkerInput,
  signal: AbortSignal,
): Promise<{ res: Response; worker: TServingWorker; untrack: () => void }> {
  const listed = await runningWorkers();
  // no await between ranking and counting the first choice (see rankWorkers)
  const workers = rankWorkers(model, listed);
  let lastError: unknown;
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
    throw new GatewayError(503, 'server_error', code, message);
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

export type TRun = {
  requestId: string;
  created: number;
  /** The serving worker answering it (the x-crucible-served-by response header). */
  servedBy: string;
  /** Deltas as they come; ends with the final result (or throws a GatewayError). */
  stream: AsyncGenerator<{ text: string } | { done: TDone }>;
  abort: () => void;
};

export async function runGeneration(o: {
  caller: TGatewayCaller;
  model: TResolvedModel;
  input: TWorkerInput;
  endpoint: string;
  stream: boolean;
  idPrefix: string;
}): Promise<TRun> {
  const t0 = Date.now();
  const requestId = `${o.idPrefix}-${newRequestId()}`;
  const controller = new AbortController();
  let firstTokenAt: number | null = null;
  let recorded = false;

  const record = async (statusCode: number, done: TDone | null) => {
    if (recorded) return;
    recorded = true;
    await recordInference({
      requestId,
      workspaceId: o.caller.workspaceId,
      model: o.model.openaiId,
      modelId: o.model.modelId,
      deploymentId: o.model.deploymentId,
      apiKeyId: o.caller.apiKeyId,
      userId: o.caller.userId,
      endpoint: o.endpoint,
      statusCode,
      stream: o.stream,
      promptTokens: done?.promptTokens ?? 0,
      completionTokens: done?.completionTokens ?? 0,
      latencyMs: Date.now() - t0,
      timeToFirstTokenMs: firstTokenAt === null ? null : firstTokenAt - t0,
    }).catch((e) => console.error(`[v1 gateway] could not record request ${requestId}:`, e));
  };

  let res: Response;
  let worker: TServingWorker;
  let untrack: () => void;
  try {
    ({ res, worker, untrack } = await openWorker(o.model, o.input, controller.signal));
  } catch (error) {
    await record(error instanceof GatewayError ? error.status : 500, null);
    throw error;
  }

  async function* stream() {
    let done: TDone | null = null;
    try {
      for await (const ev of events(res)) {
        if (ev.type === 'delta') {
          firstTokenAt ??= Date.now();
          yield { text: ev.text };
        } else if (ev.type === 'done') {
          done = ev;
        } else {
          throw new GatewayError(500, 'server_error', ev.code, ev.message);
        }
      }
      if (!done) throw new GatewayError(502, 'server_error', 'worker_failed', 'The serving worker stopped mid-answer.');
      firstTokenAt ??= Date.now();
      await record(200, done);
      yield { done };
    } catch (error) {
      // Aborted by the client (499) or failed: the request is still logged once; tokens are charged only when the
      // worker reported them.
      await record(controller.signal.aborted ? 499 : error instanceof GatewayError ? error.status : 500, done);
      throw error;
    } finally {
      untrack();
      if (!recorded) {
        // The consumer stopped reading (client went away): stop the worker and log the request.
        controller.abort();
        await record(499, done);
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
      controller.abort();
    },
  };
}
