import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { type TGenerateRequest, ZGenerateRequest } from '@crucible/jobs';
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
};

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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
    try {
      const result = await engine.generate(
        body.target,
        body.input,
        (text) => {
          start();
          res.write(`${JSON.stringify({ type: 'delta', text })}\n`);
        },
        abort.signal,
      );
      start();
      res.end(`${JSON.stringify({ type: 'done', ...result })}\n`);
    } catch (e) {
      const code = e instanceof EngineError ? e.code : 'internal';
      const message = (e as Error).message;
      if (!started) return sendJson(res, e instanceof EngineError ? STATUS[e.code] : 500, { error: { code, message } });
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
