// @vitest-environment node
/**
 * The model pages' API (issue 6, "Models"): lineage, model card, downloads (a tar of the PEFT adapter that GNU tar
 * extracts byte for byte, a redirect to the stored GGUF adapter), exports built by a real housekeeping worker process
 * (merged safetensors, the base's GGUF), edits, and delete with its guards — on real Postgres, Redis and storage
 * (Ceph S3 when S3_ENDPOINT is set, else the local driver).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestStorage } from './datasets-helpers';
import { spawnHousekeepingWorker, tearDownServing, testWorkerEnv, tinyAdapter, tinyBase } from './gateway-fixtures';
import {
  APP_URL,
  addMember,
  call,
  makeWorkspace,
  signUp,
  startTestDatabase,
  type TCaller,
  type TResult,
} from './helpers';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-models-'));
const saved = { ...process.env };
const FT = '/api/workspaces/[slug]/fine-tuned-models/[modelId]';
const BASE = '/api/workspaces/[slug]/base-models/[baseModelId]';

let owner: TCaller & { email: string; userId: string };
let viewer: TCaller & { email: string };
let wsId = '';
let baseId = '';
let ftId = '';
let ftName = '';
let outKey = '';
let worker: ReturnType<typeof spawnHousekeepingWorker> | null = null;
const adapterDir = path.join(scratch, 'adapter');
const baseDir = path.join(scratch, 'base');
const LOG_LINE = '{"current_steps": 1, "loss": 2.5}\n';
const params = () => ({ slug: 'models-a', modelId: ftId });

/** Follows a download redirect: the local driver's URL is this console's own route; S3's is fetched for real. */
async function follow(location: string): Promise<Response> {
  if (location.startsWith(APP_URL)) {
    const { storageDownload } = await import('../../lib/server/routes/datasets-storage');
    return storageDownload(new Request(location), {});
  }
  return fetch(location);
}

/** The raw response of a download route (call() parses JSON; a download is bytes). */
async function download(pathTpl: string, p: Record<string, string>, query = '', caller: TCaller = owner) {
  const { findRoute, fillPath } = await import('./helpers');
  const def = findRoute('GET', pathTpl);
  const headers = new Headers({ origin: APP_URL });
  if (caller.cookie) headers.set('cookie', caller.cookie);
  return def.handler(new Request(`${APP_URL}${fillPath(pathTpl, p)}${query}`, { headers }), p);
}

async function until<T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${worker?.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  useTestStorage();
  process.env.REDIS_PREFIX = prefix;
  await startTestDatabase();
  owner = await signUp('models-owner');
  viewer = await signUp('models-viewer');
  const ws = await makeWorkspace(owner, 'models-a');
  wsId = ws.id;
  await makeWorkspace(owner, 'models-b');
  await addMember(owner, 'models-a', viewer, 'viewer');

  const { getPrisma } = await import('@crucible/db');
  const { getStorage, uploadDir } = await import('@crucible/storage');
  const prisma = getPrisma();
  const storage = getStorage();
  await tinyBase(baseDir);
  await tinyAdapter(baseDir, adapterDir, 7);
  writeFileSync(path.join(adapterDir, 'trainer_log.jsonl'), LOG_LINE);
  const base = await prisma.baseModel.create({
    data: { workspaceId: wsId, name: 'tiny-qwen', arch: 'qwen2', sourceRef: 'Qwen/Qwen2.5-0.5B-Instruct' },
  });
  baseId = base.id;
  const baseKey = `workspaces/${wsId}/models/${base.id}`;
  await uploadDir(storage, baseDir, baseKey);
  await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: baseKey } });
  const dataset = await prisma.dataset.create({ data: { workspaceId: wsId, name: 'identity' } });
  const version = await prisma.datasetVersion.create({
    data: {
      workspaceId: wsId,
      datasetId: dataset.id,
      number: 3,
      format: 'chatml',
      objectKey: 'k',
      sha256: '0'.repeat(64),
    },
  });
  const job = await prisma.trainingJob.create({
    data: {
      workspaceId: wsId,
      baseModelId: base.id,
      trainingFileId: version.id,
      status: 'succeeded',
      finishedAt: new Date('2026-12-01T10:00:00Z'),
      hyperparameters: { epochs: 3, learningRate: 0.0001, loraRank: 4 },
    },
  });
  outKey = `workspaces/${wsId}/jobs/${job.id}/output`;
  await uploadDir(storage, adapterDir, outKey);
  ftName = `ft:tiny-qwen:models-a:id:${job.id.slice(-8)}`;
  const ft = await prisma.fineTunedModel.create({
    data: {
      workspaceId: wsId,
      name: ftName,
      baseModelId: base.id,
      jobId: job.id,
      datasetVersionId: version.id,
      method: 'sft_lora',
      hyperparameters: { epochs: 3, learningRate: 0.0001, loraRank: 4 },
      trainLoss: 0.4321,
      evalLoss: 0.5,
      adapterObjectKey: outKey,
      ggufAdapterObjectKey: `${outKey}/adapter.gguf`,
    },
  });
  ftId = ft.id;
}, 120_000);

afterAll(async () => {
  await tearDownServing({ prefix, scratch, env: saved, workers: [worker] });
}, 60_000);

const artifact = (res: TResult, id: string, dtype?: string) =>
  res.body.artifacts.find((a: { id: string; dtype: string | null }) => a.id === id && (!dtype || a.dtype === dtype));

describe('a fine-tuned model page', () => {
  it('shows the lineage, the card and every download with its state', async () => {
    const res = await call('GET', FT, { caller: viewer, params: params() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: ftId,
      kind: 'fine_tuned',
      openaiId: ftName,
      lora: true,
      method: 'sft_lora',
      baseModel: { id: baseId, name: 'tiny-qwen', sourceRef: 'Qwen/Qwen2.5-0.5B-Instruct' },
      datasetVersion: { datasetName: 'identity', number: 3 },
      trainLoss: 0.4321,
      evalLoss: 0.5,
    });
    expect(
      artifact(res, 'adapter')
        .files.map((f: { name: string }) => f.name)
        .sort(),
    ).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(artifact(res, 'adapter').state).toBe('ready');
    expect(artifact(res, 'gguf-adapter')).toMatchObject({ state: 'ready', files: [{ name: 'adapter.gguf' }] });
    expect(artifact(res, 'logs').files).toEqual([{ name: 'trainer_log.jsonl', size: LOG_LINE.length }]);
    expect(artifact(res, 'merged')).toMatchObject({
      state: 'missing',
      dtype: 'BF16',
      export: { format: 'safetensors' },
    });
    expect(artifact(res, 'gguf-base')).toMatchObject({ state: 'missing', dtype: 'F16', export: { of: 'base' } });
    // The card, in Hugging Face's shape: front matter, lineage, hyper-parameters, results.
    expect(res.body.card).toMatch(/^---\nbase_model: "Qwen\/Qwen2.5-0.5B-Instruct"\nlibrary_name: peft\n/);
    expect(res.body.card).toContain('on the dataset **identity** (version 3)');
    expect(res.body.card).toContain('| learningRate | 0.0001 |');
    expect(res.body.card).toContain('| train loss | 0.4321 |');
    // The snippets name the real base, files and endpoint.
    expect(res.body.snippets.transformers).toContain(
      'AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-0.5B-Instruct")',
    );
    expect(res.body.snippets.transformers).toContain('PeftModel.from_pretrained(base, "./adapter")');
    expect(res.body.snippets.ollama).toContain('ADAPTER ./adapter.gguf');
    expect(res.body.snippets.llamacpp).toContain('--lora adapter.gguf');
    expect(res.body.snippets.curl).toContain(
      `${APP_URL}/api/workspaces/models-a/fine-tuned-models/${ftId}/files/adapter`,
    );
    // The openai id works in place of the database id.
    expect((await call('GET', FT, { caller: viewer, params: { slug: 'models-a', modelId: ftName } })).body.id).toBe(
      ftId,
    );
  });

  it('downloads the PEFT adapter as a tar that GNU tar extracts byte for byte, with the card as README.md', async () => {
    const res = await download(`${FT}/files/[artifact]`, { ...params(), artifact: 'adapter' }, '', viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(Number(res.headers.get('content-length')));
    const file = path.join(scratch, 'adapter.tar');
    writeFileSync(file, bytes);
    const out = path.join(scratch, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(adapterDir, f))), f).toBe(true);
    }
    const card = (await call('GET', FT, { caller: viewer, params: params() })).body.card;
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toBe(card);
    // A single file of it: a redirect straight to storage.
    const one = await download(
      `${FT}/files/[artifact]`,
      { ...params(), artifact: 'adapter' },
      '?file=adapter_config.json',
    );
    expect(one.status).toBe(302);
    const got = await follow(one.headers.get('location')!);
    expect(
      Buffer.from(await got.arrayBuffer()).equals(readFileSync(path.join(adapterDir, 'adapter_config.json'))),
    ).toBe(true);
  });

  it('redirects the GGUF adapter download to storage, named for the browser', async () => {
    const res = await download(`${FT}/files/[artifact]`, { ...params(), artifact: 'gguf-adapter' });
    expect(res.status).toBe(302);
    const got = await follow(res.headers.get('location')!);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-disposition')).toContain('filename="adapter.gguf"');
    const bytes = Buffer.from(await got.arrayBuffer());
    expect(bytes.equals(readFileSync(path.join(adapterDir, 'adapter.gguf')))).toBe(true);
  });

  it('answers 409 for a download that is not built yet, saying how to build it', async () => {
    const res = await call('GET', `${FT}/files/[artifact]`, {
      caller: owner,
      params: { ...params(), artifact: 'merged' },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/POST .*\/exports with \{"format": "safetensors", "dtype": "BF16"\}/);
    const bad = await call('GET', `${FT}/files/[artifact]`, {
      caller: owner,
      params: { ...params(), artifact: 'nope' },
    });
    expect(bad.status).toBe(404);
  });

  it('builds merged safetensors and the base GGUF on a real housekeeping worker, then downloads them', async () => {
    // a viewer may download, not build
    const refused = await call('POST', `${FT}/exports`, { caller: viewer, params: params(), body: { format: 'gguf' } });
    expect(refused.status).toBe(403);
    const badDtype = await call('POST', `${FT}/exports`, {
      caller: owner,
      params: params(),
      body: { format: 'safetensors', dtype: 'Q8_0' },
    });
    expect(badDtype.status).toBe(400);
    expect(badDtype.body.error.param).toBe('dtype');

    const merged = await call('POST', `${FT}/exports`, {
      caller: owner,
      params: params(),
      body: { format: 'safetensors' },
    });
    expect(merged.status).toBe(202);
    expect(merged.body).toMatchObject({ format: 'safetensors', dtype: 'BF16', status: 'queued' });
    const again = await call('POST', `${FT}/exports`, {
      caller: owner,
      params: params(),
      body: { format: 'safetensors' },
    });
    expect(again.body.id).toBe(merged.body.id); // one export per model, format and dtype
    const baseGguf = await call('POST', `${FT}/exports`, {
      caller: owner,
      params: params(),
      body: { format: 'gguf', dtype: 'Q8_0', of: 'base' },
    });
    expect(baseGguf.status).toBe(202);

    worker = spawnHousekeepingWorker({
      ...testWorkerEnv(prefix, path.join(scratch, 'cache')),
      HOUSEKEEPING_CACHE_DIR: path.join(scratch, 'cache'),
    });
    const ready = await until('both exports', async () => {
      const r = await call('GET', FT, { caller: owner, params: params() });
      const a = artifact(r, 'merged', 'BF16');
      const b = artifact(r, 'gguf-base', 'Q8_0');
      if (a?.state === 'failed' || b?.state === 'failed') throw new Error(JSON.stringify([a, b]));
      return a?.state === 'ready' && b?.state === 'ready' ? r : null;
    });
    expect(artifact(ready, 'merged', 'BF16').files.map((f: { name: string }) => f.name)).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
    expect(
      (await call('POST', `${FT}/exports`, { caller: owner, params: params(), body: { format: 'safetensors' } }))
        .status,
    ).toBe(200);

    const tar = await download(`${FT}/files/[artifact]`, { ...params(), artifact: 'merged' }, '?dtype=BF16');
    expect(tar.status).toBe(200);
    const file = path.join(scratch, 'merged.tar');
    writeFileSync(file, Buffer.from(await tar.arrayBuffer()));
    const out = path.join(scratch, 'merged');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('library_name: peft');

    const gguf = await download(`${FT}/files/[artifact]`, { ...params(), artifact: 'gguf-base' }, '?dtype=Q8_0');
    expect(gguf.status).toBe(302);
    const bytes = Buffer.from(await (await follow(gguf.headers.get('location')!)).arrayBuffer());
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('GGUF');
    // The base model's own page lists the same export (it is the base's GGUF).
    const basePage = await call('GET', BASE, { caller: owner, params: { slug: 'models-a', baseModelId: baseId } });
    expect(
      basePage.body.artifacts.find((a: { id: string; dtype: string }) => a.id === 'gguf' && a.dtype === 'Q8_0'),
    ).toMatchObject({ state: 'ready' });
  });

  it('renames and describes the model; the card says so', async () => {
    const res = await call('PATCH', FT, {
      caller: owner,
      params: params(),
      body: { displayName: 'Identity bot', description: 'Answers who it is.' },
    });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe('Identity bot');
    expect(res.body.card).toContain('# Identity bot\n\nAnswers who it is.\n');
    expect((await call('PATCH', FT, { caller: viewer, params: params(), body: { displayName: 'x' } })).status).toBe(
      403,
    );
  });
});

describe('deleting models', () => {
  it('refuses while a deployment serves the model, then deletes it and its files', async () => {
    const { getPrisma } = await import('@crucible/db');
    const { getStorage } = await import('@crucible/storage');
    const prisma = getPrisma();
    const dep = await prisma.deployment.create({
      data: { workspaceId: wsId, name: 'serving-it', fineTunedModelId: ftId, status: 'running' },
    });
    const refused = await call('DELETE', FT, { caller: owner, params: params() });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('"serving-it"');
    expect((await getStorage().listObjects(`${outKey}/`)).length).toBeGreaterThan(0);

    await prisma.deployment.update({ where: { id: dep.id }, data: { status: 'stopped' } });
    const exportKeys = (await prisma.modelExport.findMany({ where: { fineTunedModelId: ftId } })).map(
      (e) => e.objectKey,
    );
    expect(exportKeys.length).toBe(1);
    expect((await call('DELETE', FT, { caller: owner, params: params() })).status).toBe(204);
    expect(await getStorage().listObjects(`${outKey}/`)).toEqual([]);
    expect(await getStorage().listObjects(`${exportKeys[0]}/`)).toEqual([]);
    expect((await call('GET', FT, { caller: owner, params: params() })).status).toBe(404);
    const list = await call('GET', '/api/workspaces/[slug]/fine-tuned-models', {
      caller: owner,
      params: { slug: 'models-a' },
    });
    expect(list.body.data.map((m: { id: string }) => m.id)).not.toContain(ftId);
    // the lineage row stays (the stopped deployment and the job still point at it)
    expect((await prisma.fineTunedModel.findUniqueOrThrow({ where: { id: ftId } })).deletedAt).toBeInstanceOf(Date);
    const audit = await prisma.auditLog.findFirst({ where: { workspaceId: wsId, action: 'model.delete' } });
    expect(audit?.targetId).toBe(ftId);
  });

  it('keeps a base model something was made from, deletes an unused one with its files, never a built-in one', async () => {
    const { getPrisma } = await import('@crucible/db');
    const { getStorage, uploadDir } = await import('@crucible/storage');
    const prisma = getPrisma();
    const used = await call('DELETE', BASE, { caller: owner, params: { slug: 'models-a', baseModelId: baseId } });
    expect(used.status).toBe(409);
    expect(used.body.error.message).toMatch(
      /^tiny-qwen is the base of 1 fine-tuned model, 1 training job; it stays so their lineage stays true/,
    );

    const spare = await prisma.baseModel.create({ data: { workspaceId: wsId, name: 'spare', arch: 'qwen2' } });
    const key = `workspaces/${wsId}/models/${spare.id}`;
    await uploadDir(getStorage(), baseDir, key);
    await prisma.baseModel.update({ where: { id: spare.id }, data: { objectKey: key } });
    const p = { slug: 'models-a', baseModelId: spare.id };
    const tar = await download(`${BASE}/files/[artifact]`, { ...p, artifact: 'weights' });
    expect(tar.status).toBe(200);
    expect((await call('DELETE', BASE, { caller: viewer, params: p })).status).toBe(403);
    expect((await call('DELETE', BASE, { caller: owner, params: p })).status).toBe(204);
    expect(await getStorage().listObjects(`${key}/`)).toEqual([]);

    const builtin = await prisma.baseModel.create({
      data: { workspaceId: null, name: `demo-${randomUUID()}`, arch: 'qwen2' },
    });
    const b = await call('DELETE', BASE, { caller: owner, params: { slug: 'models-a', baseModelId: builtin.id } });
    expect(b.status).toBe(403);
    await prisma.baseModel.delete({ where: { id: builtin.id } });
  });
});
