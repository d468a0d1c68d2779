/**
 * An HTTP server for the official `openai` client in the API tests: /v1/fine_tuning/jobs[/{id}[/cancel|events|
 * checkpoints]] and POST /v1/files, mapped onto the route handlers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createFile } from '../../lib/server/routes/files';
import {
  cancelFineTuningJob,
  createFineTuningJob,
  listFineTuningCheckpoints,
  listFineTuningEvents,
  listFineTuningJobs,
  retrieveFineTuningJob,
} from '../../lib/server/routes/openai-fine-tuning';

async function serve(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = /^\/v1\/fine_tuning\/jobs(?:\/([^/]+)(?:\/(cancel|events|checkpoints))?)?$/.exec(url.pathname);
  const method = req.method ?? '';
  let handler = null;
  if (url.pathname === '/v1/files' && method === 'POST') handler = createFile;
  else if (m && !m[1]) handler = { GET: listFineTuningJobs, POST: createFineTuningJob }[method];
  else if (m && !m[2]) handler = { GET: retrieveFineTuningJob }[method];
  else if (m?.[2] === 'cancel') handler = { POST: cancelFineTuningJob }[method];
  else if (m?.[2] === 'events') handler = { GET: listFineTuningEvents }[method];
  else if (m?.[2] === 'checkpoints') handler = { GET: listFineTuningCheckpoints }[method];
  if (!handler) {
    res.writeHead(404).end();
    return;
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const request = new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
    duplex: 'half',
  } as RequestInit);
  const response = await handler(request, m?.[1] ? { jobId: decodeURIComponent(m[1]) } : {});
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

/** Starts the server on a free port; returns it and the client's baseURL. */
export async function startOpenaiServer(): Promise<{ server: Server; baseURL: string }> {
  const server = createServer((req, res) => {
    serve(req, res).catch((e) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}
