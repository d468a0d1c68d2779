import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadModel, globToRegExp, HubError, MANIFEST_FILE } from '../src/hub';
import { initModel, loadWeights, writeShardedSafetensors } from '../src/io';
import { parseModelConfig } from '../src/model';

// Two local servers stand in for the hubs: "hub" answers the API and the resolve URLs the way huggingface.co and
// modelscope.cn do (status codes, X-Error-Code, X-Linked-* headers, JSON shapes as their client libraries read them),
// and "cdn", on another port and so another origin, serves large files after a redirect, as HF's CDN does.

type TRepoFiles = Map<string, Buffer>;
type TLog = { host: 'hub' | 'cdn'; method: string; url: string; auth?: string; cookie?: string; range?: string };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const isLfs = (p: string) => p.endsWith('.safetensors');
const COMMIT = 'c0ffee0000000000000000000000000000000001';
const GOOD_TOKEN = 'hf_good_token';

let tmp: string;
let plain: string; // a one-file model
let sharded: string; // the same weights in two shards + index
let hub: Server;
let cdn: Server;
let hubUrl: string;
let cdnUrl: string;
const log: TLog[] = [];
/** Per-test switches the handlers read. */
const faults = {
  /** Cut the connection after this many body bytes the first time a file is served by the CDN. */
  cutAfter: undefined as number | undefined,
  cutDone: new Set<string>(),
  /** Answer 503 this many times to the listing. */
  busy: 0,
  /** Serve this many wrong bytes in place of the real content of LFS files. */
  corrupt: false,
};
const repos = new Map<string, { files: TRepoFiles; gated?: boolean; private?: boolean }>();

function readDir(dir: string): TRepoFiles {
  const m: TRepoFiles = new Map();
  for (const f of readdirSync(dir)) m.set(f, readFileSync(join(dir, f)));
  // Files a real repo carries that a base model does not need: they must not be downloaded.
  m.set('README.md', Buffer.from('# tiny\n'));
  m.set('pytorch_model.bin', Buffer.alloc(1000, 7));
  m.set('onnx/model.safetensors', Buffer.alloc(100, 1));
  return m;
}

function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  key: string,
  headers: Record<string, string>,
) {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  if (start > body.length || (range && start === body.length)) {
    res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    return;
  }
  const slice = body.subarray(start);
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': String(slice.length),
    'Accept-Ranges': 'bytes',
    ...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
  });
  if (faults.cutAfter !== undefined && !faults.cutDone.has(key) && slice.length > faults.cutAfter) {
    faults.cutDone.add(key);
    res.write(slice.subarray(0, faults.cutAfter), () => res.destroy());
    return;
  }
  res.end(slice);
}

function authorized(req: IncomingMessage): boolean {
  return req.headers.authorization === `Bearer ${GOOD_TOKEN}` || req.headers.cookie === `m_session_id=${GOOD_TOKEN}`;
}

function hubHandler(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', hubUrl);
  log.push({
    host: 'hub',
    method: req.method ?? '',
    url: req.url ?? '',
    auth: req.headers.authorization,
    cookie: req.headers.cookie,
    range: req.headers.range,
  });
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));

  // ---- ModelScope: /api/v1/models/{owner}/{name}/repo/files and /repo?FilePath=
  const ms = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo(\/files)?$/.exec(url.pathname);
  if (ms) {
    const repo = repos.get(`ms:${ms[1]}`);
    if (!repo) return json(404, { Code: 10010205001, Message: 'model not found', Success: false });
    if (repo.private && !authorized(req)) return json(401, { Code: 401, Message: 'unauthorized', Success: false });
    if (url.searchParams.get('Revision') !== 'master') return json(404, { Code: 404, Message: 'no revision' });
    if (ms[2]) {
      const Files = [{ Name: 'onnx', Path: 'onnx', Type: 'tree', Size: 0 }];
      let t = 1_700_000_000;
      for (const [path, body] of repo.files) {
        t += 1;
        Files.push({
          Name: path.split('/').pop(),
          Path: path,
          Type: 'blob',
          Size: body.length,
          Sha256: sha(body),
          Revision: `${String(t).padStart(40, 'a')}`,
          CommittedDate: t,
          IsLFS: isLfs(path),
        } as never);
      }
      return json(200, { Code: 200, Data: { Files }, Message: 'success', Success: true });
    }
    const path = url.searchParams.get('FilePath') ?? '';
    const body = repo.files.get(path);
    if (!body) return json(404, { Code: 404, Message: 'file not found' });
    if (isLfs(path)) {
      res.writeHead(302, { Location: `${cdnUrl}/ms/${ms[1]}/${path}` }).end();
      return;
    }
    return sendFile(req, res, body, `ms:${path}`, {});
  }

  // ---- Hugging Face: /api/models/{repo}/revision/{rev}
  const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
  if (info) {
    if (faults.busy > 0) {
      faults.busy--;
      return json(503, { error: 'busy' });
    }
    const repo = repos.get(`hf:${info[1]}`);
    if (!repo)
      return json(
        401,
        { error: 'Repository not found' },
        { 'X-Error-Code': 'RepoNotFound', 'X-Error-Message': 'Repository not found' },
      );
    if (repo.gated && !authorized(req)) {
      return json(
        401,
        { error: 'Access to model is restricted.' },
        { 'X-Error-Code': 'GatedRepo', 'X-Error-Message': 'Access to model is restricted.' },
      );
    }
    if (decodeURIComponent(info[2]) !== 'main' && info[2] !== COMMIT) {
      return json(404, { error: 'Invalid rev id' }, { 'X-Error-Code': 'RevisionNotFound' });
    }
    const siblings = [...repo.files].map(([rfilename, b]) => ({
      rfilename,
      size: b.length,
      blobId: gitSha1(b),
      ...(isLfs(rfilename) ? { lfs: { sha256: sha(b), size: b.length, pointerSize: 134 } } : {}),
    }));
    return json(200, { id: info[1], sha: COMMIT, siblings, private: false, gated: repo.gated ? 'auto' : false });
  }

  // ---- Hugging Face: /{repo}/resolve/{rev}/{path}
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (resolve) {
    const repo = repos.get(`hf:${resolve[1]}`);
    if (!repo) return json(401, {}, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.gated && !authorized(req)) return json(401, {}, { 'X-Error-Code': 'GatedRepo' });
    const path = decodeURIComponent(resolve[3]);
    const body = repo.files.get(path);
    if (!body) return json(404, {}, { 'X-Error-Code': 'EntryNotFound' });
    if (isLfs(path)) {
      // The hub's own hop carries the real size, the LFS sha256 as ETag and the commit; the CDN URL is signed.
      res.writeHead(302, {
        Location: `${cdnUrl}/repos/${sha(body)}?X-Amz-Signature=abc`,
        'X-Linked-Size': String(body.length),
        'X-Linked-Etag': `"${sha(body)}"`,
        'X-Repo-Commit': COMMIT,
      });
      res.end();
      return;
    }
    return sendFile(req, res, body, `hf:${path}`, { ETag: `"${gitSha1(body)}"`, 'X-Repo-Commit': COMMIT });
  }
  json(404, { error: 'not found' });
}

function cdnHandler(req: IncomingMessage, res: ServerResponse) {
  log.push({
    host: 'cdn',
    method: req.method ?? '',
    url: req.url ?? '',
    auth: req.headers.authorization,
    cookie: req.headers.cookie,
    range: req.headers.range,
  });
  const url = new URL(req.url ?? '/', cdnUrl);
  let body: Buffer | undefined;
  for (const [key, r] of repos) {
    for (const [path, b] of r.files) {
      if (url.pathname === `/repos/${sha(b)}` || url.pathname === `/ms/${key.slice(3)}/${path}`) body = b;
    }
  }
  if (!body) return res.writeHead(404).end();
  if (faults.corrupt) body = Buffer.concat([body.subarray(0, body.length - 4), Buffer.from([1, 2, 3, 4])]);
  sendFile(req, res, body, `cdn:${url.pathname}`, {});
}

const listen = (s: Server) =>
  new Promise<string>((r) =>
    s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as { port: number }).port}`)),
  );
const fast = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'crucible-hub-'));
  plain = join(tmp, 'src-plain');
  sharded = join(tmp, 'src-sharded');
  // Vocabulary just above the Qwen tokenizer's ids keeps the embedding small (151669 x 8 floats, 4.9 MB).
  const o = {
    arch: 'qwen2' as const,
    layers: 1,
    hidden: 8,
    intermediate: 16,
    heads: 2,
    kvHeads: 1,
    vocab: 151669,
    seed: 3,
  };
  await initModel(o, plain);
  await initModel(o, sharded);
  rmSync(join(sharded, 'model.safetensors'));
  writeShardedSafetensors(sharded, await loadWeights(plain), { maxShardBytes: 3_000_000 });
  hub = createServer(hubHandler);
  cdn = createServer(cdnHandler);
  hubUrl = await listen(hub);
  cdnUrl = await listen(cdn);
  repos.set('hf:acme/tiny', { files: readDir(plain) });
  repos.set('hf:acme/gated', { files: readDir(plain), gated: true });
  repos.set('ms:acme/tiny-sharded', { files: readDir(sharded) });
  repos.set('ms:acme/private', { files: readDir(plain), private: true });
});

afterAll(async () => {
  hub?.closeAllConnections();
  cdn?.closeAllConnections();
  await Promise.all([hub, cdn].filter(Boolean).map((s) => new Promise((r) => s.close(r))));
  rmSync(tmp, { recursive: true, force: true });
});

function reset() {
  log.length = 0;
  faults.cutAfter = undefined;
  faults.cutDone.clear();
  faults.busy = 0;
  faults.corrupt = false;
}

/** Every file of `src` is in `out` with the same bytes, and the copy loads as a model. */
async function expectSameModel(src: string, out: string) {
  for (const f of readdirSync(src)) expect(readFileSync(join(out, f)).equals(readFileSync(join(src, f))), f).toBe(true);
  const cfg = parseModelConfig(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')));
  expect(cfg.hiddenSize).toBe(8);
  const a = await loadWeights(src);
  const b = await loadWeights(out);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [k, t] of a)
    expect(Buffer.from((b.get(k) as typeof t).data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
}

describe('Hugging Face downloads', () => {
  it('downloads the model files through a CDN redirect, never sending the token to the CDN', async () => {
    reset();
    const out = join(tmp, 'hf-1');
    const phases: string[] = [];
    const r = await downloadModel({
      repo: 'acme/tiny',
      source: 'huggingface',
      endpoint: hubUrl,
      token: GOOD_TOKEN,
      outDir: out,
      retry: fast,
      onProgress: (p) => phases.push(p.phase),
    });
    await expectSameModel(plain, out);
    // Only what a base model needs: no README, .bin, or files from subfolders.
    expect(readdirSync(out).sort()).toEqual([...readdirSync(plain), MANIFEST_FILE].sort());
    expect(r.commit).toBe(COMMIT);
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8'));
    expect(manifest).toMatchObject({ repo: 'acme/tiny', source: 'huggingface', revision: 'main', commit: COMMIT });
    expect(manifest.files.find((f: { path: string }) => f.path === 'model.safetensors').sha256).toBe(
      sha(readFileSync(join(plain, 'model.safetensors'))),
    );
    // Files are fetched at the listed commit, not at "main".
    expect(log.some((l) => l.url.includes(`/resolve/${COMMIT}/config.json`))).toBe(true);
    expect(log.filter((l) => l.host === 'hub').every((l) => l.auth === `Bearer ${GOOD_TOKEN}`)).toBe(true);
    const cdnHits = log.filter((l) => l.host === 'cdn');
    expect(cdnHits.length).toBe(1);
    expect(cdnHits[0].auth).toBeUndefined();
    expect(phases).toContain('done');

    // A second run with the same commit downloads nothing.
    log.length = 0;
    const again = await downloadModel({
      repo: 'acme/tiny',
      source: 'huggingface',
      endpoint: hubUrl,
      token: GOOD_TOKEN,
      outDir: out,
      retry: fast,
    });
    expect(again.downloadedBytes).toBe(0);
    expect(log.filter((l) => l.url.includes('/resolve/'))).toEqual([]);
  });

  it('a gated repo without a token fails with AUTH_REQUIRED and says to set HF_TOKEN; with one it downloads', async () => {
    reset();
    const out = join(tmp, 'hf-gated');
    const err = await downloadModel({
      repo: 'acme/gated',
      source: 'huggingface',
      endpoint: hubUrl,
      token: '',
      outDir: out,
      retry: fast,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err.code).toBe('AUTH_REQUIRED');
    expect(err.message).toMatch(/gated/);
    expect(err.message).toMatch(/HF_TOKEN/);
    await downloadModel({
      repo: 'acme/gated',
      source: 'huggingface',
      endpoint: hubUrl,
      token: GOOD_TOKEN,
      outDir: out,
      retry: fast,
    });
    await expectSameModel(plain, out);
  });

  it('an unknown repo, an unknown revision and a bad repo id are typed errors', async () => {
    reset();
    const base = {
      source: 'huggingface' as const,
      endpoint: hubUrl,
      outDir: join(tmp, 'hf-x'),
      retry: fast,
      token: '',
    };
    await expect(downloadModel({ ...base, repo: 'acme/nope' })).rejects.toMatchObject({ code: 'REPO_NOT_FOUND' });
    await expect(downloadModel({ ...base, repo: 'acme/tiny', revision: 'v9' })).rejects.toMatchObject({
      code: 'REVISION_NOT_FOUND',
    });
    await expect(downloadModel({ ...base, repo: '../etc' })).rejects.toMatchObject({ code: 'BAD_REPO_ID' });
    // A hub that does not answer: retried, then NETWORK naming the socket error.
    const closed = createServer();
    const deadUrl = await listen(closed);
    await new Promise((r) => closed.close(r));
    const dead = await downloadModel({ ...base, repo: 'acme/tiny', endpoint: deadUrl }).catch((e) => e);
    expect(dead.code).toBe('NETWORK');
    expect(dead.message).toMatch(/ECONNREFUSED/);
    await expect(downloadModel({ ...base, repo: 'acme/tiny', allowPatterns: ['*.gguf'] })).rejects.toMatchObject({
      code: 'NO_MATCHING_FILES',
    });
  });

  it('retries a busy hub, and resumes a connection cut mid-file with a Range request', async () => {
    reset();
    faults.busy = 2;
    faults.cutAfter = 100_000;
    const out = join(tmp, 'hf-cut');
    await downloadModel({ repo: 'acme/tiny', source: 'huggingface', endpoint: hubUrl, outDir: out, retry: fast });
    await expectSameModel(plain, out);
    expect(log.filter((l) => l.url.startsWith('/api/models/')).length).toBe(3);
    expect(log.some((l) => l.host === 'cdn' && l.range === 'bytes=100000-')).toBe(true);
    expect(log.some((l) => l.host === 'hub' && l.url.endsWith('/tokenizer.json') && l.range === 'bytes=100000-')).toBe(
      true,
    );
    expect(readdirSync(out).some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('resumes an interrupted earlier run from its .part file', async () => {
    reset();
    const out = join(tmp, 'hf-resume');
    const weights = readFileSync(join(plain, 'model.safetensors'));
    await import('node:fs').then((fs) => fs.mkdirSync(out, { recursive: true }));
    writeFileSync(join(out, 'model.safetensors.part'), weights.subarray(0, 12345));
    await downloadModel({ repo: 'acme/tiny', source: 'huggingface', endpoint: hubUrl, outDir: out, retry: fast });
    expect(log.filter((l) => l.host === 'cdn').map((l) => l.range)).toEqual(['bytes=12345-']);
    await expectSameModel(plain, out);
  });

  it('refuses a file whose sha256 does not match the hub and keeps no copy of it', async () => {
    reset();
    faults.corrupt = true;
    const out = join(tmp, 'hf-corrupt');
    const err = await downloadModel({
      repo: 'acme/tiny',
      source: 'huggingface',
      endpoint: hubUrl,
      outDir: out,
      retry: fast,
    }).catch((e) => e);
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'model.safetensors.part'))).toBe(false);
    expect(existsSync(join(out, MANIFEST_FILE))).toBe(false);
  });

  // Skipped (and reported so), never passed vacuously, on a system without /dev/full.
  it.runIf(existsSync('/dev/full'))(
    'a full disk is DISK_FULL with a sentence, not a stack (the .part is /dev/full)',
    async () => {
      reset();
      const out = join(tmp, 'hf-full');
      await import('node:fs').then((fs) => fs.mkdirSync(out, { recursive: true }));
      symlinkSync('/dev/full', join(out, 'config.json.part'));
      const err = await downloadModel({
        repo: 'acme/tiny',
        source: 'huggingface',
        endpoint: hubUrl,
        outDir: out,
        retry: fast,
      }).catch((e) => e);
      expect(err.code).toBe('DISK_FULL');
      expect(err.message).toMatch(/no space left/);
    },
  );

  it('cancelling mid-file keeps the .part, and the next run resumes it with a Range request', async () => {
    reset();
    const out = join(tmp, 'hf-cancel');
    const ac = new AbortController();
    const err = await downloadModel({
      repo: 'acme/tiny',
      source: 'huggingface',
      endpoint: hubUrl,
      outDir: out,
      retry: fast,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.file === 'model.safetensors' && p.phase === 'progress' && p.fileBytes > 0) ac.abort();
      },
    }).catch((e) => e);
    expect(err.code).toBe('ABORTED');
    expect(existsSync(join(out, 'model.safetensors.part'))).toBe(true);
    log.length = 0;
    await downloadModel({ repo: 'acme/tiny', source: 'huggingface', endpoint: hubUrl, outDir: out, retry: fast });
    expect(log.find((l) => l.host === 'cdn')?.range).toMatch(/^bytes=[1-9]\d*-$/);
    await expectSameModel(plain, out);
  });

  it('an abort signal stops the download with ABORTED', async () => {
    reset();
    const ac = new AbortController();
    ac.abort();
    await expect(
      downloadModel({
        repo: 'acme/tiny',
        source: 'huggingface',
        endpoint: hubUrl,
        outDir: join(tmp, 'hf-abort'),
        retry: fast,
        signal: ac.signal,
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('ModelScope downloads', () => {
  it('downloads a sharded model (index + shards, shards via a redirect) and verifies every sha256', async () => {
    reset();
    const out = join(tmp, 'ms-1');
    const r = await downloadModel({
      repo: 'acme/tiny-sharded',
      source: 'modelscope',
      endpoint: hubUrl,
      outDir: out,
      retry: fast,
    });
    await expectSameModel(sharded, out);
    expect(readdirSync(out).filter((f) => f.endsWith('.safetensors')).length).toBe(2);
    expect(r.revision).toBe('master');
    expect(r.commit).toMatch(/^a+\d+$/);
    expect(r.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256 ?? ''))).toBe(true);
    expect(log.some((l) => l.url.includes('/repo/files?Revision=master&Recursive=True'))).toBe(true);
    expect(log.some((l) => l.url.includes('/repo?Revision=master&FilePath=config.json'))).toBe(true);
  });

  it('a private repo needs MODELSCOPE_API_TOKEN', async () => {
    reset();
    const out = join(tmp, 'ms-private');
    const err = await downloadModel({
      repo: 'acme/private',
      source: 'modelscope',
      endpoint: hubUrl,
      token: '',
      outDir: out,
      retry: fast,
    }).catch((e) => e);
    expect(err.code).toBe('AUTH_REQUIRED');
    expect(err.message).toMatch(/MODELSCOPE_API_TOKEN/);
    await downloadModel({
      repo: 'acme/private',
      source: 'modelscope',
      endpoint: hubUrl,
      token: GOOD_TOKEN,
      outDir: out,
      retry: fast,
    });
    await expectSameModel(plain, out);
    expect(log.filter((l) => l.host === 'cdn').every((l) => l.auth === undefined && l.cookie === undefined)).toBe(true);
    await expect(
      downloadModel({ repo: 'acme/none', source: 'modelscope', endpoint: hubUrl, token: '', outDir: out, retry: fast }),
    ).rejects.toMatchObject({ code: 'REPO_NOT_FOUND' });
  });
});

describe('allow patterns', () => {
  it('follow fnmatch: * crosses folders, [!x] negates, a trailing / is the folder', () => {
    expect(globToRegExp('*.safetensors').test('onnx/model.safetensors')).toBe(true);
    expect(globToRegExp('model-0000[!2]-*.safetensors').test('model-00001-of-00002.safetensors')).toBe(true);
    expect(globToRegExp('model-0000[!2]-*.safetensors').test('model-00002-of-00002.safetensors')).toBe(false);
    expect(globToRegExp('onnx/').test('onnx/model.onnx')).toBe(true);
    expect(globToRegExp('config.json').test('configXjson')).toBe(false);
  });
});

/** `npx crucible models download`, run as a user runs it: the real bin in a child process, HF_ENDPOINT at our hub. */
function crucible(args: string[], env: Record<string, string>) {
  const bin = join(__dirname, '../../cli/bin/crucible.mjs');
  return new Promise<{ code: number; out: string; err: string }>((res) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, cwd: tmp });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => res({ code: code ?? -1, out, err }));
  });
}

describe('crucible models download', () => {
  it('downloads into --out with progress on stderr and the folder on stdout; a gated repo exits 1 naming HF_TOKEN', async () => {
    reset();
    const out = join(tmp, 'cli-1');
    const r = await crucible(['models', 'download', 'acme/tiny', '--out', out], { HF_ENDPOINT: hubUrl, HF_TOKEN: '' });
    expect(r.err).toMatch(/\[\d+\/5\] model\.safetensors: [\d.]+ MB done/);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(out);
    await expectSameModel(plain, out);
    const gated = await crucible(['models', 'download', 'acme/gated', '--out', join(tmp, 'cli-g')], {
      HF_ENDPOINT: hubUrl,
      HF_TOKEN: '',
    });
    expect(gated.code).toBe(1);
    expect(gated.err).toMatch(/gated.*HF_TOKEN.*\[AUTH_REQUIRED\]/);
    const usage = await crucible(['models', 'download', 'acme/tiny', '--source', 'civitai'], {});
    expect(usage.code).toBe(2);
  });

  it('with --workspace registers the download as a base model (ModelScope source, real Postgres, local storage)', async () => {
    reset();
    const { createTestDatabase } = await import('../../db/src/testing');
    const db = await createTestDatabase();
    try {
      const ws = await db.prisma.workspace.create({ data: { name: 'Acme', slug: 'acme-hub' } });
      const out = join(tmp, 'cli-ws');
      const r = await crucible(
        [
          'models',
          'download',
          'acme/tiny-sharded',
          '--source',
          'modelscope',
          '--out',
          out,
          '--workspace',
          'acme-hub',
          '--name',
          'tiny',
        ],
        {
          MODELSCOPE_ENDPOINT: hubUrl,
          DATABASE_URL: db.url,
          STORAGE_DRIVER: 'local',
          STORAGE_DIR: join(tmp, 'storage'),
          REDIS_PREFIX: `crucible-test-hub-${process.pid}`,
        },
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/imported tiny \(qwen2, \d+ files\) into workspace acme-hub/);
      const base = await db.prisma.baseModel.findFirst({ where: { workspaceId: ws.id, name: 'tiny' } });
      expect(base?.status).toBe('ready');
      expect(base?.arch).toBe('qwen2');
      // The registered copy in storage is the downloaded shard, byte for byte.
      const shard = readdirSync(sharded).find((f) => f.endsWith('.safetensors')) as string;
      const stored = join(tmp, 'storage', `${base?.objectKey}/${shard}`);
      expect(readFileSync(stored).equals(readFileSync(join(sharded, shard)))).toBe(true);
    } finally {
      await db.drop();
    }
  });
});
