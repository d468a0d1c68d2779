// @vitest-environment node
/**
 * OpenAI's Files API shape, exercised with the official `openai` npm client against the real route handlers
 * served by a small node:http adapter (real Postgres, real storage). Another workspace's key gets 404s.
 */

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFile, deleteFile, fileContent, listFiles, retrieveFile } from '../../lib/server/routes/files';
import { dropTestStorage, startHousekeeping, stopHousekeeping, useTestStorage } from './datasets-helpers';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase } from './helpers';

const FIXTURES =
  process.env.CRUCIBLE_LF_FIXTURES ?? fileURLToPath(new URL('../../../../fixtures/llamafactory', import.meta.url));

/** Maps /v1/files[/{id}[/content]] to the handlers, converting node:http to Fetch Request/Response. */
async function serve(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = /^\/v1\/files(?:\/([^/]+)(\/content)?)?$/.exec(url.pathname);
  const handler = !m
    ? null
    : !m[1]
      ? { GET: listFiles, POST: createFile }[req.method ?? '']
      : m[2]
        ? { GET: fileContent }[req.method ?? '']
        : { GET: retrieveFile, DELETE: deleteFile }[req.method ?? ''];
  if (!handler) {
    res.writeHead(404).end();
    return;
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
    duplex: 'half',
  } as RequestInit);
  const response = await handler(request, m?.[1] ? { fileId: decodeURIComponent(m[1]) } : {});
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

let server: Server;
let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  useTestStorage();
  await startTestDatabase();
  await startHousekeeping();
  const owner = await signUp('files-owner');
  await makeWorkspace(owner, 'files-a');
  await makeWorkspace(owner, 'files-b');
  const keyA = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: owner,
    params: { slug: 'files-a' },
    body: { name: 'sdk' },
  });
  const keyB = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: owner,
    params: { slug: 'files-b' },
    body: { name: 'sdk' },
  });
  server = createServer((req, res) => {
    serve(req, res).catch((e) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  client = new OpenAI({ apiKey: keyA.body.key, baseURL, maxRetries: 0 });
  other = new OpenAI({ apiKey: keyB.body.key, baseURL, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stopHousekeeping();
  await stopTestDatabase();
  await dropTestStorage();
});

describe('OpenAI Files API with the official SDK', () => {
  const jsonl = [
    {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
      ],
    },
    {
      messages: [
        { role: 'user', content: '2+2?' },
        { role: 'assistant', content: '4' },
      ],
    },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n');
  let id: string;

  it('uploads a training file (purpose fine-tune) and answers a File object', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), 'train.jsonl'),
      purpose: 'fine-tune',
    });
    expect(file).toMatchObject({
      object: 'file',
      bytes: Buffer.byteLength(jsonl),
      filename: 'train.jsonl',
      purpose: 'fine-tune',
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
    expect(Math.abs(file.created_at - Date.now() / 1000)).toBeLessThan(120);
    id = file.id;
  });

  it('uploads identity.json (alpaca) too, and lists, retrieves and downloads files', async () => {
    const raw = readFileSync(path.join(FIXTURES, 'identity.json'));
    const identity = await client.files.create({ file: await toFile(raw, 'identity.json'), purpose: 'fine-tune' });
    expect(identity.status).toBe('processed');
    const ids: string[] = [];
    for await (const f of client.files.list()) ids.push(f.id);
    expect(ids.sort()).toEqual([id, identity.id].sort());
    expect(await client.files.retrieve(id)).toMatchObject({ id, filename: 'train.jsonl' });
    const content = await client.files.content(identity.id);
    expect(Buffer.from(await content.arrayBuffer()).equals(raw)).toBe(true);
  });

  it('marks a broken file as status error with the reason', async () => {
    const bad = await client.files.create({
      file: await toFile(Buffer.from('{"messages": [}\n{"prompt": 1}\n'), 'bad.jsonl'),
      purpose: 'fine-tune',
    });
    expect(bad.status).toBe('error');
    expect(bad.status_details).toContain('invalid_json');
  });

  it('answers OpenAI-shaped errors', async () => {
    const wrongPurpose = await client.files
      .create({ file: await toFile(Buffer.from(jsonl), 'x.jsonl'), purpose: 'assistants' })
      .catch((e) => e);
    expect(wrongPurpose).toBeInstanceOf(OpenAI.BadRequestError);
    expect(wrongPurpose.error).toMatchObject({ type: 'invalid_request_error', param: 'purpose' });
    const missing = await client.files.retrieve('file-nope').catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const noKey = await new OpenAI({ apiKey: 'crk_not-a-key', baseURL: client.baseURL, maxRetries: 0 }).files
      .list()
      .catch((e) => e);
    expect(noKey).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("keeps workspaces apart: another workspace's key sees none of these files", async () => {
    const seen: string[] = [];
    for await (const f of other.files.list()) seen.push(f.id);
    expect(seen).toEqual([]);
    expect(await other.files.retrieve(id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await other.files.content(id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await other.files.delete(id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.files.retrieve(id)).id).toBe(id);
  });

  it('deletes a file', async () => {
    expect(await client.files.delete(id)).toEqual({ id, object: 'file', deleted: true });
    expect(await client.files.retrieve(id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
