import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { type TGenerateEvent, type TGenerateRequest, ZGenerateRequest } from '@crucible/jobs';
import { EngineError, type TEngine } from './engine';

/**
 * The worker's internal HTTP API (bound to 127.0.0.1 unless told otherwise; the console is its only client). The
 * request and answer shapes are the contract in @crucible/jobs (serving.ts).
 */

/**
 * The address other machines reach this worker at: the bind address, or — bound to every interface (0.0.0.0 / ::,
 * as in docker-compose, where each replica of the service is its own container) — this machine's first non-internal
 * IPv4 address, so each worker advertises itself and not a name several containers share.
 */
export function advertisedHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host.includes(':') ? `[${host}]` : host;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const STATUS: Record<EngineError['code'], number> = {
  model_not_found: 404,
  model_unavailable: 503,
  context_length_exceeded: 400,
  invalid_request: 400,
  overloaded: 503,
};

/** Seconds an `overloaded` answer tells the console (and its client) to wait. */
export const OVERLOADED_RETRY_AFTER_S = 2;

/**
 * The largest /generate body this worker reads. The console caps chat bodies first (BODY_LIMITS.chat); this is the
 * worker's own bound, so nothing larger is ever held in memory or parsed here.
 */
export const MAX_GENERATE_BODY_BYTES = 8 * 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_GENERATE_BODY_BYTES) throw new Error(`the request body is over ${MAX_GENERATE_BODY_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export function startServingServer(
  engine: TEngine,
  opts: { port: number; host: string; log?: (m: string) => void },
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      opts.log?.(`request failed: ${(error as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: (error as Error).message } });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/health') {
      return sendJson(res, 200, { ok: true, holdings: await engine.holdings() });
    }
    if (req.method !== 'POST' || path !== '/generate') return sendJson(res, 404, { error: { code: 'not_found' } });
    let body: TGenerateRequest;
    try {
      body = ZGenerateRequest.parse(await readJson(req));
    } catch (e) {
      return sendJson(res, 400, { error: { code: 'invalid_request', message: (e as Error).message } });
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    };
    const line = (event: TGenerateEvent) => res.write(`${JSON.stringify(event)}\n`);
    try {
      const result = await engine.generate(
        body.target,
        body.input,
        {
          // Headers go out when the request has a sequence and its prompt is tokenised: until then it waits in
          // line, and a client that leaves meanwhile has cost nothing.
          start: (promptTokens) => {
            start();
            line({ type: 'start', promptTokens });
          },
          text: (text, completionTokens) => {
            start();
            line({ type: 'delta', text, completionTokens });
          },
        },
        abort.signal,
      );
      start();
      res.end(`${JSON.stringify({ type: 'done', ...result })}\n`);
    } catch (e) {
      const code = e instanceof EngineError ? e.code : 'internal';
      const message = (e as Error).message;
      if (!started) {
        const retry: Record<string, string> =
          code === 'overloaded' ? { 'retry-after': String(OVERLOADED_RETRY_AFTER_S) } : {};
        return sendJson(res, e instanceof EngineError ? STATUS[e.code] : 500, { error: { code, message } }, retry);
      }
      res.end(`${JSON.stringify({ type: 'error', code, message })}\n`);
    }
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://${advertisedHost(opts.host)}:${port}` });
    });
  });
}
