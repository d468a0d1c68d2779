// @vitest-environment node
/**
 * "Add base model" (issue 14) through the REST handlers, the housekeeping worker's `model.download` job in this
 * process, and real Postgres, Redis and storage (S3 when S3_ENDPOINT is set), against a local server laid out like
 * Hugging Face and ModelScope (@crucible/trainer/hub/local-hub, a CDN origin of its own included): progress on the
 * row while it downloads, resume after a worker stops, sha256 mismatch, no route to the hub, the access token
 * encrypted at rest and sent only to the hub, the shared folder and uploaded archives, and tenancy.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropTestStorage,
  sendToPresigned,
  startHousekeeping,
  stopHousekeeping,
  useTestStorage,
} from './datasets-helpers';
import {
  addMember,
  call,
  makeWorkspace,
  signUp,
  startTestDatabase,
  stopTestDatabase,
  type TCaller,
  type TResult,
} from './helpers';

const SLUG = 'adds';
const OTHER = 'adds-other';
const B = '/api/workspaces/[slug]/base-models';
const ONE = `${B}/[baseModelId]`;
const TOKEN = 'hf_gated_secret_token_1234';
const saved = { ...process.env };

type THub = Awaited<ReturnType<typeof import('@crucible/trainer/hub/local-hub')['startLocalHub']>>;
let hub: THub;
let tmp: string;
let shared: string;
let model: string;
let owner: TCaller;
let other: TCaller;
let viewer: TCaller & { email: string };

/** The housekeeping worker in this process, with the hub downloader's backoff shortened. */
async function startWorker() {
  const { configureHousekeeping } = await import('../../../../workers/housekeeping/src/context');
  configureHousekeeping({ hubRetry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
  await startHousekeeping();
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const add = (body: Record<string, unknown>, caller: TCaller = owner, slug = SLUG) =>
  call('POST', B, { caller, params: { slug }, body });

const U = `${B}/uploads/[uploadId]`;
const upload = (
  method: 'GET' | 'POST' | 'DELETE',
  sub: '' | '/parts' | '/complete',
  uploadId: string,
  body?: unknown,
  caller: TCaller = owner,
  slug = SLUG,
) => call(method, `${U}${sub}`, { caller, params: { slug, uploadId }, ...(body === undefined ? {} : { body }) });

/** Sends parts `numbers` of `bytes` to their presigned URLs; answers each PUT's status. */
async function sendParts(uploadId: string, bytes: Buffer, numbers: number[], partSize: number) {
  const urls = await upload('POST', '/parts', uploadId, { partNumbers: numbers });
  expect(urls.status, JSON.stringify(urls.body)).toBe(200);
  const statuses: number[] = [];
  for (const part of urls.body.parts as { partNumber: number; offset: number; size: number }[]) {
    expect(part.offset).toBe((part.partNumber - 1) * partSize);
    statuses.push(await sendToPresigned(part as never, bytes.subarray(part.offset, part.offset + part.size)));
  }
  return statuses;
}

/** An archive through the whole multipart path at once: start, every part, complete. Answers the upload id. */
async function uploadArchive(fileName: string, bytes: Buffer): Promise<string> {
  const up = await call('POST', `${B}/uploads`, {
    caller: owner,
    params: { slug: SLUG },
    body: { fileName, size: bytes.length },
  });
  expect(up.status, JSON.stringify(up.body)).toBe(201);
  const all = Array.from({ length: up.body.partCount }, (_, i) => i + 1);
  expect((await sendParts(up.body.uploadId, bytes, all, up.body.partSize)).every((s) => s < 300)).toBe(true);
  const done = await upload('POST', '/complete', up.body.uploadId);
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  return up.body.uploadId;
}

const detail = async (id: string, caller: TCaller = owner, slug = SLUG) =>
  (await call('GET', ONE, { caller, params: { slug, baseModelId: id } })).body;

/** Waits for the download to end; returns the base model's page. */
const finished = (id: string) =>
  until(`download of ${id}`, async () => {
    const d = await detail(id);
    return d.status === 'ready' || d.status === 'failed' ? d : null;
  });

/** Publishes `dir` as repo `id` on the local hub. */
function publish(id: string, dir: string) {
  const target = path.join(hub.root, ...id.split('/'));
  rmSync(target, { recursive: true, force: true });
  cpSync(dir, target, { recursive: true });
  // what a real repo carries beside the model, which is not downloaded
  writeFileSync(path.join(target, 'README.md'), '# tiny\n');
}

async function storedFiles(baseModelId: string) {
  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const b = await getPrisma().baseModel.findUniqueOrThrow({ where: { id: baseModelId } });
  const objects = await getStorage().listObjects(`${b.objectKey}/`);
  return objects.map((o) => o.key.slice((b.objectKey as string).length + 1)).sort();
}

async function storedBytes(baseModelId: string, name: string): Promise<Buffer> {
  const { getPrisma } = await import('@crucible/db');
  const { getStorage } = await import('@crucible/storage');
  const b = await getPrisma().baseModel.findUniqueOrThrow({ where: { id: baseModelId } });
  const chunks: Buffer[] = [];
  for await (const c of await getStorage().getObject(`${b.objectKey}/${name}`)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  useTestStorage();
  tmp = mkdtempSync(path.join(tmpdir(), 'crucible-adds-'));
  shared = path.join(tmp, 'shared');
  mkdirSync(shared);
  const { uniquePrefix } = await import('@crucible/jobs/testing');
  process.env.REDIS_PREFIX = uniquePrefix();
  process.env.BETTER_AUTH_SECRET = 'an-instance-secret-for-the-download-tests-0123';
  process.env.MODELS_SHARED_DIR = shared;
  process.env.HOUSEKEEPING_CACHE_DIR = path.join(tmp, 'cache');
  const { startLocalHub } = await import('@crucible/trainer/hub/local-hub');
  hub = await startLocalHub(path.join(tmp, 'hub'));
  process.env.HF_ENDPOINT = hub.url;
  process.env.MODELSCOPE_ENDPOINT = hub.url;
  // A tiny Qwen2 with the real Qwen tokenizer; the vocabulary just above the tokenizer's ids keeps it 4.9 MB.
  const { initModel } = await import('@crucible/trainer');
  model = path.join(tmp, 'tiny');
  await initModel(
    { arch: 'qwen2', layers: 1, hidden: 8, intermediate: 16, heads: 2, kvHeads: 1, vocab: 151669, seed: 3 },
    model,
  );
  publish('acme/tiny', model);
  publish('acme/gated', model);
  hub.faults.tokens.set('acme/gated', TOKEN);
  await startTestDatabase();
  await startWorker();
  owner = await signUp('add-owner');
  other = await signUp('add-other');
  viewer = await signUp('add-viewer');
  await makeWorkspace(owner, SLUG);
  await makeWorkspace(other, OTHER);
  await addMember(owner, SLUG, viewer, 'viewer');
}, 120_000);

afterAll(async () => {
  await stopHousekeeping();
  const jobs = await import('@crucible/jobs');
  const { dropPrefix } = await import('@crucible/jobs/testing');
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, process.env.REDIS_PREFIX as string);
  await redis.quit();
  await jobs.closeRedisConnection();
  await hub?.close();
  await stopTestDatabase();
  await dropTestStorage();
  rmSync(tmp, { recursive: true, force: true });
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('from Hugging Face', () => {
  it('downloads through the CDN redirect with live progress on the row, and registers a ready model', async () => {
    hub.faults.bytesPerSecond = 2_000_000;
    hub.log.length = 0;
    const res = await add({ source: 'huggingface', repo: 'acme/tiny', displayName: 'Tiny' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ name: 'tiny', status: 'downloading', download: { status: 'queued' } });
    const id = res.body.id as string;
    // The list the Models page polls shows the bar moving: bytes between 0 and the total, a speed and an ETA.
    const moving = await until('progress', async () => {
      const list = await call('GET', B, { caller: owner, params: { slug: SLUG } });
      const d = list.body.data.find((b: { id: string }) => b.id === id)?.download;
      return d?.status === 'downloading' && d.doneBytes > 0 && d.doneBytes < d.totalBytes && d.bytesPerSecond > 0
        ? d
        : null;
    });
    expect(moving.totalBytes).toBeGreaterThan(4_000_000);
    expect(moving.etaSeconds).toBeGreaterThan(0);
    hub.faults.bytesPerSecond = 0;
    const done = await finished(id);
    expect(done.status).toBe('ready');
    expect(done.download).toMatchObject({ status: 'succeeded', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(done.download.doneBytes).toBe(done.download.totalBytes);
    expect(done).toMatchObject({ arch: 'qwen2', architecture: 'Qwen2ForCausalLM', sourceRef: 'acme/tiny' });
    expect(done.chatTemplate).toContain('<|im_start|>');
    expect(done.training).toMatchObject({
      unsupported: null,
      methods: ['sft_lora', 'sft_full', 'dpo_lora', 'dpo_full', 'kto_lora', 'kto_full'],
    });
    expect(done.training.memory.sft_lora).toBeGreaterThan(0);
    // Only what a base model needs, byte for byte; the README stays on the hub.
    const files = await storedFiles(id);
    expect(files).toEqual([...readdirSync(model), 'crucible-download.json'].sort());
    expect(
      (await storedBytes(id, 'model.safetensors')).equals(readFileSync(path.join(model, 'model.safetensors'))),
    ).toBe(true);
    // The weights came from the CDN origin, without the Authorization header (there was no token either).
    expect(hub.log.filter((l) => l.host === 'cdn').length).toBeGreaterThan(0);
    expect(hub.log.every((l) => l.auth === undefined)).toBe(true);
    // Its name is taken now.
    const again = await add({ source: 'huggingface', repo: 'acme/tiny' });
    expect(again.status).toBe(409);
    expect(again.body.error.param).toBe('name');
  });

  it('refuses a repo id, a revision or a name that cannot be, and a viewer', async () => {
    expect((await add({ source: 'huggingface', repo: '../etc/passwd' })).body.error.param).toBe('repo');
    expect((await add({ source: 'huggingface', repo: 'a/b', revision: '../x' })).status).toBe(400);
    expect((await add({ source: 'huggingface', repo: 'acme/tiny', name: 'bad name' })).body.error.param).toBe('name');
    expect((await add({ source: 'huggingface', repo: 'acme/tiny', name: 'v' }, viewer)).status).toBe(403);
  });

  it('a worker that stops mid-file resumes where it was: finished files are kept, the shard with a Range request', async () => {
    const { getPrisma } = await import('@crucible/db');
    const { runModelDownload } = await import('../../../../workers/housekeeping/src/model-download');
    const { getStorage } = await import('@crucible/storage');
    // The queue's worker is stopped so that this test runs the download itself, twice, as two workers would.
    await stopHousekeeping();
    const res = await add({ source: 'huggingface', repo: 'acme/tiny', name: 'resumed' });
    const downloadId = res.body.download.id as string;
    hub.faults.bytesPerSecond = 1_000_000;
    hub.log.length = 0;
    const shutdown = new AbortController();
    const deps = {
      storage: getStorage(),
      cacheDir: path.join(tmp, 'cache'),
      workerId: 'w1',
      attempt: 1,
      signal: shutdown.signal,
      log: () => {},
      sharedDir: shared,
      progressEveryMs: 50,
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    };
    const first = runModelDownload(downloadId, deps);
    await until('the shard half way', async () => {
      const d = await getPrisma().baseModelDownload.findUniqueOrThrow({ where: { id: downloadId } });
      return d.currentFile === 'model.safetensors' && Number(d.doneBytes) > 1_000_000;
    });
    shutdown.abort(new Error('SIGTERM'));
    await expect(first).rejects.toBeTruthy();
    const row = await getPrisma().baseModelDownload.findUniqueOrThrow({ where: { id: downloadId } });
    expect(row.status).toBe('downloading'); // handed back, not failed
    hub.faults.bytesPerSecond = 0;
    hub.log.length = 0;
    const second = await runModelDownload(downloadId, {
      ...deps,
      workerId: 'w2',
      attempt: 2,
      signal: new AbortController().signal,
    });
    expect(second.status).toBe('succeeded');
    const cdn = hub.log.filter((l) => l.host === 'cdn');
    expect(cdn).toHaveLength(1);
    expect(cdn[0].range).toMatch(/^bytes=[1-9]\d{5,}-$/);
    // config.json and the tokenizer finished in the first run: not fetched again
    expect(hub.log.some((l) => l.url.endsWith('/config.json'))).toBe(false);
    const b = await detail(res.body.id);
    expect(b.status).toBe('ready');
    expect(b.download.attempts).toBe(2);
    expect(
      (await storedBytes(res.body.id, 'model.safetensors')).equals(readFileSync(path.join(model, 'model.safetensors'))),
    ).toBe(true);
    await startWorker();
  });

  it('a file whose sha256 differs from the hub is refused and not stored; "Try again" downloads it afresh', async () => {
    hub.faults.corrupt = true;
    const res = await add({ source: 'huggingface', repo: 'acme/tiny', name: 'corrupt' });
    const failed = await finished(res.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.download.error.code).toBe('checksum_mismatch');
    expect(failed.download.error.message).toMatch(/sha256 .* does not match/);
    expect(await storedFiles(res.body.id)).toEqual([]);
    hub.faults.corrupt = false;
    const retried = await call('POST', `${ONE}/retry`, {
      caller: owner,
      params: { slug: SLUG, baseModelId: res.body.id },
    });
    expect(retried.status).toBe(202);
    expect((await finished(res.body.id)).status).toBe('ready');
    // Only a failed download is tried again.
    const twice = await call('POST', `${ONE}/retry`, {
      caller: owner,
      params: { slug: SLUG, baseModelId: res.body.id },
    });
    expect(twice.status).toBe(409);
  });

  it('a machine with no route to the hub is refused at once with a sentence saying what to do', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    try {
      const res = await add({ source: 'huggingface', repo: 'acme/tiny', name: 'offline' });
      const failed = await finished(res.body.id);
      expect(failed.download.error.code).toBe('hub_unreachable');
      expect(failed.download.error.message).toMatch(/no route to http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED/);
      expect(failed.download.error.message).toMatch(/shared folder.*\.tar\/\.zip.*HF_ENDPOINT/);
    } finally {
      process.env.HF_ENDPOINT = hub.url;
    }
  });

  it('a model the training core cannot train is refused after config.json, before its weights', async () => {
    const odd = path.join(tmp, 'odd');
    cpSync(model, odd, { recursive: true });
    const cfg = JSON.parse(readFileSync(path.join(odd, 'config.json'), 'utf8'));
    writeFileSync(
      path.join(odd, 'config.json'),
      JSON.stringify({ ...cfg, architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3' }),
    );
    publish('acme/vision', odd);
    hub.log.length = 0;
    const res = await add({ source: 'huggingface', repo: 'acme/vision' });
    const failed = await finished(res.body.id);
    expect(failed.download.error).toMatchObject({ code: 'unsupported_model' });
    expect(failed.download.error.message).toMatch(/Gemma3ForConditionalGeneration/);
    expect(hub.log.some((l) => l.host === 'cdn')).toBe(false);
  });
});

describe('access tokens', () => {
  it('a gated repo needs a token; the token is stored encrypted, sent to the hub only, and never answered', async () => {
    const without = await add({ source: 'huggingface', repo: 'acme/gated', name: 'gated-1' });
    const refused = await finished(without.body.id);
    expect(refused.download.error.code).toBe('auth_required');
    expect(refused.download.error.message).toMatch(/access token/);

    hub.log.length = 0;
    const withToken = await add({ source: 'huggingface', repo: 'acme/gated', name: 'gated-2', token: TOKEN });
    expect(JSON.stringify(withToken.body)).not.toContain(TOKEN);
    expect((await finished(withToken.body.id)).status).toBe('ready');
    expect(hub.log.filter((l) => l.host === 'hub').every((l) => l.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(hub.log.filter((l) => l.host === 'cdn').every((l) => l.auth === undefined)).toBe(true);

    // At rest: AES-256-GCM, bound to the workspace; nothing of the token in any column or audit line.
    const { getPrisma } = await import('@crucible/db');
    const prisma = getPrisma();
    const ws = await prisma.workspace.findUniqueOrThrow({ where: { slug: SLUG } });
    const secret = await prisma.workspaceSecret.findUniqueOrThrow({
      where: { workspaceId_kind: { workspaceId: ws.id, kind: 'huggingface_token' } },
    });
    expect(secret.ciphertext).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(secret.ciphertext).not.toContain(TOKEN);
    expect(Buffer.from(secret.ciphertext.slice(3), 'base64url').toString('latin1')).not.toContain(TOKEN);
    expect(secret.hint).toBe('1234');
    const { decryptSecret } = await import('@crucible/services/secrets');
    expect(decryptSecret(secret.ciphertext, { workspaceId: ws.id, kind: 'huggingface_token' })).toBe(TOKEN);
    const otherWs = await prisma.workspace.findUniqueOrThrow({ where: { slug: OTHER } });
    expect(() => decryptSecret(secret.ciphertext, { workspaceId: otherWs.id, kind: 'huggingface_token' })).toThrow(
      /cannot be decrypted/,
    );
    expect(() =>
      decryptSecret(
        secret.ciphertext,
        { workspaceId: ws.id, kind: 'huggingface_token' },
        { ...process.env, BETTER_AUTH_SECRET: 'x'.repeat(40) },
      ),
    ).toThrow(/cannot be decrypted/);
    const audits = await prisma.auditLog.findMany({ where: { workspaceId: ws.id } });
    expect(JSON.stringify(audits)).not.toContain(TOKEN);
    const rows = await prisma.baseModelDownload.findMany({ where: { workspaceId: ws.id } });
    expect(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))).not.toContain(TOKEN);

    // The catalog says a token is stored (its last four characters), and the next gated download uses it.
    const catalog = await call('GET', `${B}/catalog`, { caller: owner, params: { slug: SLUG } });
    expect(catalog.body.hubTokens).toEqual({ huggingface: '1234', modelscope: null });
    expect(JSON.stringify(catalog.body)).not.toContain(TOKEN);
    const reuse = await add({ source: 'huggingface', repo: 'acme/gated', name: 'gated-3' });
    expect((await finished(reuse.body.id)).status).toBe('ready');
  });

  it('another workspace neither sees nor uses the token, nor the models, and may not retry them', async () => {
    const catalog = await call('GET', `${B}/catalog`, { caller: other, params: { slug: OTHER } });
    expect(catalog.body.hubTokens).toEqual({ huggingface: null, modelscope: null });
    const refused = await add({ source: 'huggingface', repo: 'acme/gated', useToken: true }, other, OTHER);
    expect(refused.status).toBe(400);
    expect(refused.body.error.param).toBe('token');
    const theirs = await add({ source: 'huggingface', repo: 'acme/gated', name: 'g' }, other, OTHER);
    expect(
      (
        await until('refusal', async () => {
          const d = (await call('GET', ONE, { caller: other, params: { slug: OTHER, baseModelId: theirs.body.id } }))
            .body;
          return d.status === 'failed' ? d : null;
        })
      ).download.error.code,
    ).toBe('auth_required');
    const list = await call('GET', B, { caller: other, params: { slug: OTHER } });
    expect(list.body.data.map((b: { name: string }) => b.name)).not.toContain('gated-2');
    const mine = await call('GET', B, { caller: owner, params: { slug: SLUG } });
    const failedOfMine = mine.body.data.find((b: { name: string }) => b.name === 'gated-1');
    for (const [method, p] of [
      ['GET', ONE],
      ['POST', `${ONE}/retry`],
    ] as const) {
      const r = await call(method, p, { caller: other, params: { slug: OTHER, baseModelId: failedOfMine.id } });
      expect(r.status).toBe(404);
    }
    // Forgetting the token is an admin's, of the workspace's own.
    expect(
      (
        await call('DELETE', '/api/workspaces/[slug]/hub-tokens/[hub]', {
          caller: other,
          params: { slug: OTHER, hub: 'huggingface' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call('DELETE', '/api/workspaces/[slug]/hub-tokens/[hub]', {
          caller: owner,
          params: { slug: SLUG, hub: 'huggingface' },
        })
      ).status,
    ).toBe(204);
  });
});

describe('from ModelScope, the shared folder and an uploaded archive', () => {
  it('downloads from ModelScope with the sha256 of every file', async () => {
    publish('acme/tiny-ms', model);
    const res = await add({ source: 'modelscope', repo: 'acme/tiny-ms' });
    const done = await finished(res.body.id);
    expect(done.status).toBe('ready');
    expect(done.revision).toBe('master');
    const manifest = JSON.parse((await storedBytes(res.body.id, 'crucible-download.json')).toString());
    expect(manifest.files.every((f: { sha256?: string }) => /^[0-9a-f]{64}$/.test(f.sha256 ?? ''))).toBe(true);
  });

  it("adds a folder of the workers' shared storage, and refuses one outside it", async () => {
    cpSync(model, path.join(shared, 'models', 'tiny-shared'), { recursive: true });
    const res = await add({ source: 'directory', path: 'models/tiny-shared' });
    expect(res.body.name).toBe('tiny-shared');
    const done = await finished(res.body.id);
    expect(done.status).toBe('ready');
    expect(await storedFiles(res.body.id)).toEqual(readdirSync(model).sort());
    expect((await add({ source: 'directory', path: '../tiny' })).body.error.param).toBe('path');
    symlinkSync(model, path.join(shared, 'escape'));
    const escaped = await finished((await add({ source: 'directory', path: 'escape' })).body.id);
    expect(escaped.download.error.code).toBe('outside_shared_dir');
  });

  it('adds an uploaded .tar.gz of a model folder; an archive with a link in it is refused', async () => {
    const archive = path.join(tmp, 'tiny-upload.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', tmp, 'tiny']);
    const bytes = readFileSync(archive);
    const uploadId = await uploadArchive('tiny-upload.tar.gz', bytes);
    const res = await add({ source: 'upload', uploadId });
    expect(res.body.name).toBe('tiny-upload');
    const done = await finished(res.body.id);
    expect(done.status).toBe('ready');
    expect(await storedFiles(res.body.id)).toEqual(readdirSync(model).sort());
    // the same upload twice is one model
    expect((await add({ source: 'upload', uploadId, name: 'x2' })).status).toBe(409);

    const linked = path.join(tmp, 'linked');
    cpSync(model, linked, { recursive: true });
    symlinkSync('/etc/passwd', path.join(linked, 'vocab.json'));
    const bad = path.join(tmp, 'linked.tar');
    execFileSync('tar', ['-cf', bad, '-C', tmp, 'linked']);
    const badBytes = readFileSync(bad);
    const badId = await uploadArchive('linked.tar', badBytes);
    const refused = await finished((await add({ source: 'upload', uploadId: badId })).body.id);
    expect(refused.download.error.code).toBe('bad_archive');
    expect(refused.download.error.message).toMatch(/SymbolicLink/);

    const notArchive = await call('POST', `${B}/uploads`, {
      caller: owner,
      params: { slug: SLUG },
      body: { fileName: 'weights.safetensors', size: 10 },
    });
    expect(notArchive.body.error.param).toBe('fileName');
    const tooBig = await call('POST', `${B}/uploads`, {
      caller: owner,
      params: { slug: SLUG },
      body: { fileName: 'm.tar', size: 200 * 1024 ** 3 + 1 },
    });
    expect(tooBig.body.error.param).toBe('size');
    expect(tooBig.body.error.message).toMatch(/MODEL_UPLOAD_MAX_BYTES/);
  });
});

describe('an archive as a resumable multipart upload', () => {
  let bytes: Buffer;
  let count: number;
  const PART = 5 * 1024 * 1024; // MODEL_UPLOAD_PART_BYTES here: S3's smallest part, so Ceph takes it too
  beforeAll(() => {
    process.env.MODEL_UPLOAD_PART_BYTES = String(PART);
    // The tiny model plus 8 MiB of noise: an uncompressed tar of three parts or more.
    const dir = path.join(tmp, 'tiny-parts');
    cpSync(model, dir, { recursive: true });
    writeFileSync(path.join(dir, 'noise.bin'), randomBytes(8 * 1024 * 1024));
    execFileSync('tar', ['-cf', path.join(tmp, 'tiny-parts.tar'), '-C', tmp, 'tiny-parts']);
    bytes = readFileSync(path.join(tmp, 'tiny-parts.tar'));
    count = Math.ceil(bytes.length / PART);
    expect(count).toBeGreaterThanOrEqual(3);
  });
  afterAll(() => {
    delete process.env.MODEL_UPLOAD_PART_BYTES;
  });

  it('sends some parts, "reloads", lists what is stored, sends only the missing ones, completes, and the model is ready', async () => {
    const up = await call('POST', `${B}/uploads`, {
      caller: owner,
      params: { slug: SLUG },
      body: { fileName: 'tiny-parts.tar', size: bytes.length },
    });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({
      partSize: PART,
      partCount: count,
      status: 'uploading',
      parts: [],
      uploadedBytes: 0,
    });
    const id = up.body.uploadId as string;

    // The connection drops after the last part and the first (the last first: parts go in any order).
    expect((await sendParts(id, bytes, [count, 1], PART)).every((s) => s < 300)).toBe(true);
    const early = await upload('POST', '/complete', id);
    expect(early.status).toBe(400);
    expect(early.body.error.param).toBe('parts');
    expect(early.body.error.message).toMatch(
      new RegExp(`^${count - 2} of ${count} parts are not uploaded yet \\(2[,)]`),
    );
    // Not complete: "Add base model" refuses it, naming the field.
    const tooSoon = await add({ source: 'upload', uploadId: id });
    expect(tooSoon.status).toBe(400);
    expect(tooSoon.body.error.param).toBe('uploadId');

    // After a reload the client knows only the upload id: it asks what is stored and sends the rest.
    const state = await upload('GET', '', id);
    expect(state.status).toBe(200);
    expect(state.body.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1, count]);
    expect(state.body.uploadedBytes).toBe(PART + (bytes.length - (count - 1) * PART));
    const stored = new Set(state.body.parts.map((p: { partNumber: number }) => p.partNumber));
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !stored.has(n));
    expect(missing).toEqual(Array.from({ length: count - 2 }, (_, i) => i + 2));
    expect((await sendParts(id, bytes, missing, PART)).every((s) => s < 300)).toBe(true);
    expect((await upload('GET', '', id)).body.uploadedBytes).toBe(bytes.length);
    const done = await upload('POST', '/complete', id);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', uploadedBytes: bytes.length });
    // A completed upload takes no more parts and cannot be completed or cancelled again.
    expect((await upload('POST', '/parts', id, { partNumbers: [1] })).status).toBe(409);
    expect((await upload('POST', '/complete', id)).status).toBe(409);

    const res = await add({ source: 'upload', uploadId: id });
    expect(res.status).toBe(202);
    expect(res.body.name).toBe('tiny-parts');
    const ready = await finished(res.body.id);
    expect(ready.status).toBe('ready');
    expect(await storedFiles(res.body.id)).toEqual([...readdirSync(model), 'noise.bin'].sort());
    expect(
      (await storedBytes(res.body.id, 'noise.bin')).equals(readFileSync(path.join(tmp, 'tiny-parts', 'noise.bin'))),
    ).toBe(true);
  });

  it('refuses parts out of range, a part of the wrong size, and uploads of another workspace; cancels', async () => {
    const up = await call('POST', `${B}/uploads`, {
      caller: owner,
      params: { slug: SLUG },
      body: { fileName: 'short.tar', size: bytes.length },
    });
    const id = up.body.uploadId as string;
    for (const partNumbers of [[0], [count + 1], [1, 99]]) {
      const r = await upload('POST', '/parts', id, { partNumbers });
      expect(r.status, JSON.stringify(partNumbers)).toBe(400);
      expect(r.body.error.param).toBe('partNumbers');
    }
    expect((await upload('POST', '/parts', id, { partNumbers: [] })).body.error.param).toBe('partNumbers');

    // Part 1 with too few bytes: storage takes it (an S3 part URL cannot limit size), completing does not.
    const urls = await upload('POST', '/parts', id, { partNumbers: Array.from({ length: count }, (_, i) => i + 1) });
    const [p1, ...rest] = urls.body.parts;
    expect(await sendToPresigned(p1, bytes.subarray(0, 1000))).toBeLessThan(300);
    for (const p of rest) await sendToPresigned(p, bytes.subarray(p.offset, p.offset + p.size));
    const wrong = await upload('POST', '/complete', id);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ param: 'parts' });
    expect(wrong.body.error.message).toMatch(new RegExp(`Part 1 has 1000 bytes; it should have ${PART}`));

    // Someone else's workspace: its member cannot see, sign, complete or cancel this upload, through either slug.
    for (const [method, sub, body] of [
      ['GET', '', undefined],
      ['POST', '/parts', { partNumbers: [1] }],
      ['POST', '/complete', undefined],
      ['DELETE', '', undefined],
    ] as const) {
      const theirs = await upload(method, sub, id, body, other, OTHER);
      expect(theirs.status, `${method} ${sub} in their workspace`).toBe(404);
      const mine = await upload(method, sub, id, body, other, SLUG);
      expect([403, 404], `${method} ${sub} in mine`).toContain(mine.status);
    }
    expect((await add({ source: 'upload', uploadId: id }, other, OTHER)).body.error.param).toBe('uploadId');
    // A viewer may look at the workspace but not upload into it.
    expect((await upload('GET', '', id, undefined, viewer)).status).toBe(403);

    const aborted = await upload('DELETE', '', id);
    expect(aborted.status).toBe(200);
    expect(aborted.body.status).toBe('aborted');
    expect((await upload('POST', '/parts', id, { partNumbers: [1] })).status).toBe(409);
    expect((await add({ source: 'upload', uploadId: id })).body.error.param).toBe('uploadId');
    expect((await upload('GET', '', 'mu_doesnotexist123')).status).toBe(404);
  });
});

describe('the catalog', () => {
  it('lists the curated models with parameters, license, context and the memory LoRA and full fine-tuning need', async () => {
    const res = await call('GET', `${B}/catalog`, { caller: viewer, params: { slug: SLUG } });
    expect(res.status).toBe(200);
    const byId = new Map<string, TResult['body']>(res.body.data.map((e: { id: string }) => [e.id, e]));
    for (const id of [
      'qwen2.5-0.5b-instruct',
      'qwen2.5-72b-instruct',
      'qwen3-0.6b',
      'qwen3-32b',
      'llama-3.1-8b-instruct',
      'llama-3.1-70b',
      'llama-3.2-1b-instruct',
      'llama-3.2-3b',
      'mistral-7b-instruct-v0.3',
      'gemma-2-2b-it',
      'gemma-2-27b',
      'gemma-3-1b-it',
      'gemma-3-27b-it',
    ]) {
      expect(byId.has(id), id).toBe(true);
    }
    const q = byId.get('qwen2.5-0.5b-instruct');
    expect(q).toMatchObject({
      huggingface: 'Qwen/Qwen2.5-0.5B-Instruct',
      modelscope: 'Qwen/Qwen2.5-0.5B-Instruct',
      license: 'apache-2.0',
      contextLength: 32768,
      parameters: 494_032_768,
      unsupported: null,
    });
    expect(q.memory.lora).toBeLessThan(q.memory.full);
    expect(q.fits).toEqual({ sft_lora: 0, sft_full: 0, of: 0 }); // no trainer worker runs in this test
    const llama = byId.get('llama-3.1-8b-instruct');
    expect(llama).toMatchObject({ gated: true, license: 'llama3.1', contextLength: 131072 });
    expect(byId.get('gemma-3-4b-it').unsupported).toMatch(/vision/);
  });
});
