import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acceptLocalUpload,
  createStorage,
  handleLocalDownload,
  handleLocalUpload,
  LOCAL_DOWNLOAD_PATH,
  LOCAL_UPLOAD_PATH,
  loadStorageConfig,
  signStorageToken,
  type TStorageConfig,
  verifyStorageToken,
} from '../src/index';
import { parseRange } from '../src/local-routes';
import { storageContract } from './contract';

/**
 * The local driver, with its presigned routes mounted on a real HTTP server the way the console mounts them
 * (web-standard Request -> Response handlers).
 */

type TLocalConfig = Extract<TStorageConfig, { driver: 'local' }>;

function serve(getConfig: () => TLocalConfig): Promise<Server> {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const handler =
        url.pathname === LOCAL_UPLOAD_PATH
          ? handleLocalUpload
          : url.pathname === LOCAL_DOWNLOAD_PATH
            ? handleLocalDownload
            : null;
      if (!handler) {
        res.writeHead(404).end();
        return;
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const request = new Request(new URL(req.url ?? '/', `http://${req.headers.host}`), {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream) : undefined,
        duplex: 'half',
      } as RequestInit);
      const response = await handler(request, getConfig());
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) Readable.fromWeb(response.body as unknown as NodeWebReadableStream).pipe(res);
      else res.end();
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let root = '';
let server: Server | undefined;
let config: TLocalConfig;

storageContract('local', async () => {
  root = await mkdtemp(join(tmpdir(), 'crucible-storage-'));
  server = await serve(() => config);
  const port = (server.address() as AddressInfo).port;
  config = loadStorageConfig({
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: root,
    APP_URL: `http://127.0.0.1:${port}`,
    BETTER_AUTH_SECRET: 'test-secret-for-local-storage-contract',
  }) as TLocalConfig;
  expect(config.driver).toBe('local');
  return {
    storage: createStorage({
      STORAGE_DRIVER: 'local',
      STORAGE_DIR: root,
      APP_URL: config.publicUrl,
      BETTER_AUTH_SECRET: config.signingSecret,
    }),
    cleanup: async () => {
      // Nothing may be left behind in the temp folder after the contract deleted its objects.
      const leftovers = (await readdir(join(root, '.tmp')).catch(() => [])).length;
      expect(leftovers).toBe(0);
      await new Promise((resolve) => server?.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('the signing secret (issue 11, finding 2)', () => {
  const OLD_CONSTANT = 'crucible-dev-secret-change-me-in-production-0000';

  it('is never a constant from the source: without BETTER_AUTH_SECRET links are signed with a random one', async () => {
    const cfg = loadStorageConfig({ STORAGE_DRIVER: 'local', STORAGE_DIR: tmpdir() }) as TLocalConfig;
    expect(cfg.signingSecret).not.toBe(OLD_CONSTANT);
    expect(cfg.signingSecret.length).toBeGreaterThanOrEqual(32);
    // A token forged with the constant that used to ship is refused.
    const forged = signStorageToken(OLD_CONSTANT, { v: 1, op: 'get', key: 'workspaces/b/datasets/x.jsonl', exp: 2e9 });
    expect(() => verifyStorageToken(cfg.signingSecret, forged, 'get')).toThrow(/not valid/);
  });

  it('is required in production', () => {
    expect(() => loadStorageConfig({ STORAGE_DRIVER: 'local', NODE_ENV: 'production' })).toThrow(
      /BETTER_AUTH_SECRET is required in production/,
    );
    expect(
      loadStorageConfig({ STORAGE_DRIVER: 'local', NODE_ENV: 'production', BETTER_AUTH_SECRET: 'x'.repeat(40) }),
    ).toMatchObject({ signingSecret: 'x'.repeat(40) });
  });

  it('points links at STORAGE_PUBLIC_URL when stored files have an origin of their own', async () => {
    const storage = createStorage({
      STORAGE_DRIVER: 'local',
      STORAGE_DIR: tmpdir(),
      BETTER_AUTH_SECRET: 's',
      APP_URL: 'http://console.example',
      STORAGE_PUBLIC_URL: 'http://files.example',
    });
    expect(new URL(await storage.presignedGet('ws/a.bin')).origin).toBe('http://files.example');
    expect(new URL((await storage.presignedPut('ws/a.bin', { maxBytes: 1 })).url).origin).toBe('http://files.example');
  });
});

describe('local driver specifics', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const fresh = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crucible-storage-'));
    dirs.push(dir);
    return loadStorageConfig({ STORAGE_DRIVER: 'local', STORAGE_DIR: dir, BETTER_AUTH_SECRET: 's' }) as TLocalConfig;
  };

  it('stops a streamed upload that never announced its size at the limit, leaving no file', async () => {
    const cfg = await fresh();
    const storage = createStorage({ STORAGE_DRIVER: 'local', STORAGE_DIR: cfg.root, BETTER_AUTH_SECRET: 's' });
    const target = await storage.presignedPut('ws/a.bin', { maxBytes: 100_000 });
    const token = new URL(target.url).searchParams.get('token');
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 50; i++) yield Buffer.alloc(10_000, i);
      })(),
    );
    await expect(acceptLocalUpload(cfg, { token, body })).rejects.toMatchObject({ code: 'too_large' });
    expect(await storage.statObject('ws/a.bin')).toBeNull();
    expect(await readdir(join(cfg.root, '.tmp'))).toEqual([]);
  });

  it('refuses a multipart part over its size limit, keeping the parts already stored', async () => {
    const cfg = await fresh();
    const storage = createStorage({ STORAGE_DRIVER: 'local', STORAGE_DIR: cfg.root, BETTER_AUTH_SECRET: 's' });
    const uploadId = await storage.createMultipartUpload('ws/m.tar');
    const ok = await storage.presignedUploadPart('ws/m.tar', uploadId, 1, { maxBytes: 10 });
    await acceptLocalUpload(cfg, {
      token: new URL(ok.url).searchParams.get('token'),
      body: Readable.from([Buffer.alloc(10)]),
    });
    const big = await storage.presignedUploadPart('ws/m.tar', uploadId, 2, { maxBytes: 10 });
    await expect(
      acceptLocalUpload(cfg, {
        token: new URL(big.url).searchParams.get('token'),
        body: Readable.from([Buffer.alloc(11)]),
      }),
    ).rejects.toMatchObject({ code: 'too_large' });
    expect((await storage.listParts('ws/m.tar', uploadId)).map((p) => p.partNumber)).toEqual([1]);
    expect(await readdir(join(cfg.root, '.tmp'))).toEqual([]);
    // The upload id is bound to its key: another key, or a made-up id, finds no upload.
    await expect(storage.listParts('ws/other.tar', uploadId)).rejects.toMatchObject({ code: 'not_found' });
    await expect(storage.listParts('ws/m.tar', '../../etc')).rejects.toMatchObject({ code: 'not_found' });
    // A part token is for that part only: it cannot write a whole object.
    expect(verifyStorageToken(cfg.signingSecret, new URL(ok.url).searchParams.get('token'), ['put', 'part']).op).toBe(
      'part',
    );
    expect(() => verifyStorageToken(cfg.signingSecret, new URL(ok.url).searchParams.get('token'), 'put')).toThrow(
      /not valid/,
    );
  });

  it('refuses an expired upload token and a download token used for upload', async () => {
    const cfg = await fresh();
    const storage = createStorage({ STORAGE_DRIVER: 'local', STORAGE_DIR: cfg.root, BETTER_AUTH_SECRET: 's' });
    const expiring = await storage.presignedPut('ws/b.bin', { maxBytes: 10, expiresSec: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const t1 = new URL(expiring.url).searchParams.get('token');
    await expect(acceptLocalUpload(cfg, { token: t1, body: Readable.from([Buffer.from('x')]) })).rejects.toMatchObject({
      code: 'token_expired',
    });
    const get = await storage.presignedGet('ws/b.bin');
    const t2 = new URL(get).searchParams.get('token');
    await expect(acceptLocalUpload(cfg, { token: t2, body: Readable.from([Buffer.from('x')]) })).rejects.toMatchObject({
      code: 'token_invalid',
    });
  });

  it('refuses a token signed with another secret', async () => {
    const cfg = await fresh();
    const other = createStorage({ STORAGE_DRIVER: 'local', STORAGE_DIR: cfg.root, BETTER_AUTH_SECRET: 'another' });
    const target = await other.presignedPut('ws/c.bin', { maxBytes: 10 });
    const token = new URL(target.url).searchParams.get('token');
    await expect(acceptLocalUpload(cfg, { token, body: Readable.from([Buffer.from('x')]) })).rejects.toMatchObject({
      code: 'token_invalid',
    });
  });

  it('answers 404 from its routes when the driver is s3', async () => {
    const s3 = loadStorageConfig({ S3_ENDPOINT: 'http://127.0.0.1:1', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' });
    const res = await handleLocalUpload(
      new Request('http://x/api/storage/upload?token=t', { method: 'PUT', body: 'x' }),
      s3,
    );
    expect(res.status).toBe(404);
  });

  it('parses download ranges as S3 does', () => {
    expect(parseRange(null, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull(); // several ranges: the whole object
  });

  it('chooses the driver from the env and explains a wrong setting', () => {
    expect(loadStorageConfig({}).driver).toBe('local');
    expect(
      loadStorageConfig({ S3_ENDPOINT: 'http://127.0.0.1:7480', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' }).driver,
    ).toBe('s3');
    expect(loadStorageConfig({ S3_ENDPOINT: '', STORAGE_DIR: '/tmp/x' })).toMatchObject({
      driver: 'local',
      root: '/tmp/x',
    });
    expect(() => loadStorageConfig({ STORAGE_DRIVER: 's3' })).toThrow(/S3_ENDPOINT is required/);
    expect(() => loadStorageConfig({ STORAGE_DRIVER: 'ftp' })).toThrow(/STORAGE_DRIVER/);
    expect(() => loadStorageConfig({ S3_ENDPOINT: 'not a url', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' })).toThrow(
      /S3_ENDPOINT must be a URL/,
    );
  });
});
