import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError, MULTIPART_MIN_PART_BYTES, type Storage, uploadToPresigned, workspaceKey } from '../src/index';

/**
 * The one contract both drivers must meet. `test/local.test.ts` and `test/s3.test.ts` run it against a real
 * folder and a real S3 server (Ceph RGW); nothing here knows which driver it is talking to.
 */

export type TContractTarget = { storage: Storage; cleanup?: () => Promise<void> };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const flipLastChar = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A stream of `total` random bytes in 64 KiB chunks, hashing them as they go (the source's own digest). */
function randomStream(total: number) {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const chunk = randomBytes(Math.min(65536, total - sent));
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string) {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(
      isStorageError(error),
      `expected a StorageError, got ${String(error)} (${(error as { code?: string }).code})`,
    ).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected a StorageError ${code}, but nothing was thrown`);
}

export function storageContract(name: string, setup: () => Promise<TContractTarget>) {
  describe(`storage contract: ${name}`, () => {
    let target: TContractTarget;
    let storage: Storage;
    // Every run writes under its own prefix and removes it afterwards.
    const base = `contract-${randomUUID()}`;
    const k = (...parts: string[]) => [base, ...parts].join('/');

    beforeAll(async () => {
      target = await setup();
      storage = target.storage;
    });

    afterAll(async () => {
      if (!storage) return;
      const left = await storage.listObjects(`${base}/`);
      await storage.deleteObjects(left.map((o) => o.key));
      await target.cleanup?.();
    });

    it('reports healthy', async () => {
      const health = await storage.health();
      expect(health.ok, health.detail).toBe(true);
      expect(health.driver).toBe(storage.driver);
    });

    it('streams 20 MB in and out unchanged', async () => {
      const size = 20 * 1024 * 1024;
      const source = randomStream(size);
      const put = await storage.putObject(k('big.bin'), source.stream, { size, contentType: 'application/x-test' });
      expect(put.size).toBe(size);
      const digest = source.digest();

      // Hash on the way out too: the 20 MB never has to sit in one Buffer.
      const hash = createHash('sha256');
      let got = 0;
      for await (const chunk of await storage.getObject(k('big.bin'))) {
        got += chunk.length;
        hash.update(chunk);
      }
      expect(got).toBe(size);
      expect(hash.digest('hex')).toBe(digest);

      const stat = await storage.statObject(k('big.bin'));
      expect(stat).toMatchObject({ key: k('big.bin'), size, contentType: 'application/x-test' });
    });

    it('stores a stream of unknown size', async () => {
      const body = randomBytes(300_000);
      const put = await storage.putObject(
        k('unsized.bin'),
        Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
      );
      expect(put.size).toBe(body.length);
      expect(sha256(await readAll(await storage.getObject(k('unsized.bin'))))).toBe(sha256(body));
    });

    it('reads byte ranges', async () => {
      const body = randomBytes(100_000);
      await storage.putObject(k('range.bin'), body);
      expect(await readAll(await storage.getObjectRange(k('range.bin'), 1000, 5000))).toEqual(
        body.subarray(1000, 6000),
      );
      expect(await readAll(await storage.getObjectRange(k('range.bin'), 0, 1))).toEqual(body.subarray(0, 1));
      expect(await readAll(await storage.getObjectRange(k('range.bin'), 99_000))).toEqual(body.subarray(99_000));
    });

    it('stats objects, with null for a missing key', async () => {
      expect(await storage.statObject(k('missing'))).toBeNull();
      await storage.putObject(k('stat.json'), Buffer.from('{"a":1}'), { contentType: 'application/json' });
      const stat = await storage.statObject(k('stat.json'));
      expect(stat?.size).toBe(7);
      expect(stat?.contentType).toBe('application/json');
      expect(stat?.etag).toMatch(/^[0-9a-f]{32}/);
      expect(stat?.lastModified).toBeInstanceOf(Date);
      expect(Math.abs((stat?.lastModified.getTime() ?? 0) - Date.now())).toBeLessThan(5 * 60_000);
    });

    it('overwrites: the last put wins', async () => {
      await storage.putObject(k('over.txt'), Buffer.from('first version'));
      await storage.putObject(k('over.txt'), Buffer.from('second'));
      expect((await readAll(await storage.getObject(k('over.txt')))).toString()).toBe('second');
      expect((await storage.statObject(k('over.txt')))?.size).toBe(6);
    });

    it('lists by prefix, recursively and sorted', async () => {
      const keys = [k('list', 'a', 'x2'), k('list', 'a', 'x1'), k('list', 'a', 'sub', 'y'), k('list', 'b', 'z')];
      for (const key of keys) await storage.putObject(key, Buffer.from(key));
      const a = await storage.listObjects(k('list', 'a/'));
      expect(a.map((o) => o.key)).toEqual([k('list', 'a', 'sub', 'y'), k('list', 'a', 'x1'), k('list', 'a', 'x2')]);
      expect(a[1].size).toBe(Buffer.byteLength(k('list', 'a', 'x1')));
      // A prefix that ends mid-segment filters by string, as S3 does.
      expect((await storage.listObjects(k('list', 'a', 'x'))).map((o) => o.key)).toEqual([
        k('list', 'a', 'x1'),
        k('list', 'a', 'x2'),
      ]);
      expect(await storage.listObjects(k('list', 'nothing-here/'))).toEqual([]);
    });

    it('deletes one or many, idempotently', async () => {
      await storage.putObject(k('del', '1'), Buffer.from('1'));
      await storage.putObject(k('del', '2'), Buffer.from('2'));
      await storage.putObject(k('del', '3'), Buffer.from('3'));
      await storage.deleteObject(k('del', '1'));
      expect(await storage.statObject(k('del', '1'))).toBeNull();
      await expectCode(storage.getObject(k('del', '1')), 'not_found');
      await storage.deleteObject(k('del', '1')); // again: no error
      await storage.deleteObjects([k('del', '2'), k('del', '3'), k('del', 'never-existed')]);
      expect(await storage.listObjects(k('del/'))).toEqual([]);
    });

    it('refuses keys that climb out or are malformed, on every operation', async () => {
      const bad = [
        '../escape',
        'a/../../escape',
        '/absolute',
        'a//b',
        'a/./b',
        'a\\..\\b',
        '',
        'trailing/',
        'nul\u0000byte',
      ];
      for (const key of bad) {
        await expectCode(storage.putObject(key, Buffer.from('x')), 'invalid_key');
        await expectCode(storage.getObject(key), 'invalid_key');
        await expectCode(storage.statObject(key), 'invalid_key');
        await expectCode(storage.deleteObject(key), 'invalid_key');
        await expectCode(storage.presignedPut(key, { maxBytes: 10 }), 'invalid_key');
        await expectCode(storage.presignedGet(key), 'invalid_key');
      }
      await expectCode(storage.listObjects('../'), 'invalid_key');
      await expectCode(() => workspaceKey('ws_1', '..', 'x'), 'invalid_key');
      await expectCode(() => workspaceKey('ws_1', 'datasets/../../x'), 'invalid_key');
      expect(workspaceKey('ws_1', 'datasets', 'ds_1', 'v1.jsonl')).toBe('workspaces/ws_1/datasets/ds_1/v1.jsonl');
    });

    it('accepts a presigned upload within its size limit', async () => {
      const target = await storage.presignedPut(k('upload', 'ok.jsonl'), {
        maxBytes: 1024,
        expiresSec: 120,
        contentType: 'application/jsonl',
      });
      expect(target.expiresAt.getTime()).toBeGreaterThan(Date.now());
      const body = randomBytes(1000);
      const res = await uploadToPresigned(target, new Blob([body], { type: 'application/jsonl' }));
      expect(res.ok, `${res.status} ${await res.clone().text()}`).toBe(true);
      const stat = await storage.statObject(k('upload', 'ok.jsonl'));
      expect(stat?.size).toBe(1000);
      expect(stat?.contentType).toBe('application/jsonl');
      expect(await readAll(await storage.getObject(k('upload', 'ok.jsonl')))).toEqual(body);
    });

    it('refuses a presigned upload over its size limit, storing nothing', async () => {
      const target = await storage.presignedPut(k('upload', 'big.jsonl'), {
        maxBytes: 1024,
        contentType: 'application/jsonl',
      });
      const res = await uploadToPresigned(target, new Blob([randomBytes(1025)], { type: 'application/jsonl' }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await storage.statObject(k('upload', 'big.jsonl'))).toBeNull();
    });

    it('refuses a presigned upload whose signature was tampered with', async () => {
      const target = await storage.presignedPut(k('upload', 'forged.bin'), { maxBytes: 1024 });
      const forged =
        target.method === 'POST'
          ? { ...target, fields: { ...target.fields, key: k('upload', 'elsewhere.bin') } }
          : { ...target, url: flipLastChar(target.url) };
      const res = await uploadToPresigned(forged, new Blob([Buffer.from('x')]));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(await storage.statObject(k('upload', 'elsewhere.bin'))).toBeNull();
      expect(await storage.statObject(k('upload', 'forged.bin'))).toBeNull();
    });

    it('serves an object stored as text/html as an inert attachment, never as a page (issue 11, finding 1)', async () => {
      const page = Buffer.from(
        '{"messages":[]}\n<script>fetch("/api/workspaces/b/api-keys",{method:"POST"})</script>\n',
      );
      await storage.putObject(k('get', 'evil.jsonl'), page, { contentType: 'text/html' });
      const res = await fetch(await storage.presignedGet(k('get', 'evil.jsonl'), 60));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).not.toMatch(/html|xml|javascript|svg/i);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
      if (name === 'local') {
        // The console serves these: no sniffing, and a policy under which nothing could run even if it were shown.
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
      }
      expect(Buffer.from(await res.arrayBuffer())).toEqual(page);
    });

    it('refuses a presigned upload declared as a type outside the allow-list', async () => {
      for (const contentType of ['text/html', 'image/svg+xml', 'application/javascript', 'text/xml']) {
        await expect(
          storage.presignedPut(k('upload', 'x.html'), { maxBytes: 10, contentType }),
          contentType,
        ).rejects.toMatchObject({ code: 'invalid_content_type' });
      }
      await expect(
        storage.presignedPut(k('upload', 'x.jsonl'), { maxBytes: 10, contentType: 'application/jsonl' }),
      ).resolves.toHaveProperty('url');
    });

    it('serves a presigned GET, and refuses a tampered one', async () => {
      const body = randomBytes(4096);
      await storage.putObject(k('get', 'file.bin'), body, { contentType: 'application/octet-stream' });
      const url = await storage.presignedGet(k('get', 'file.bin'), 60);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(body);

      // Resumable downloads: a Range request gets 206 and exactly those bytes, as from S3.
      const part = await fetch(url, { headers: { range: 'bytes=100-299' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 100-299/4096');
      expect(Buffer.from(await part.arrayBuffer())).toEqual(body.subarray(100, 300));
      const tail = await fetch(url, { headers: { range: 'bytes=4000-' } });
      expect(tail.status).toBe(206);
      expect(Buffer.from(await tail.arrayBuffer())).toEqual(body.subarray(4000));
      // Always an attachment (a stored file is never a page), named after its key when no name was given.
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="file.bin"; filename*=UTF-8''file.bin`);

      // A download name: the browser saves the file so (RFC 6266, with the exact UTF-8 name as filename*).
      const named = await fetch(await storage.presignedGet(k('get', 'file.bin'), 60, { filename: '模型 "a".gguf' }));
      expect(named.status).toBe(200);
      expect(named.headers.get('content-disposition')).toBe(
        `attachment; filename="__ _a_.gguf"; filename*=UTF-8''${encodeURIComponent('模型 "a".gguf')}`,
      );
      expect(Buffer.from(await named.arrayBuffer())).toEqual(body);

      // Both URLs end with their signature (S3: X-Amz-Signature; local: the token's MAC).
      for (const bad of [flipLastChar(url)]) {
        const r = await fetch(bad);
        expect(r.status, bad).toBeGreaterThanOrEqual(400);
        await r.arrayBuffer();
      }
    });

    it('takes a multipart upload in parts sent in any order, again, and after a pause; lists, completes, aborts', async () => {
      const key = k('multipart', 'model.tar');
      // S3's rule (every part but the last at least 5 MiB) holds on both drivers' servers: Ceph refuses less.
      const size = MULTIPART_MIN_PART_BYTES;
      const parts = [randomBytes(size), randomBytes(size), randomBytes(1000)];
      const uploadId = await storage.createMultipartUpload(key, { contentType: 'application/x-tar' });
      expect(await storage.listParts(key, uploadId)).toEqual([]);
      const put = async (n: number, body: Buffer) => {
        const target = await storage.presignedUploadPart(key, uploadId, n, { maxBytes: size, expiresSec: 300 });
        expect(target.method).toBe('PUT');
        const res = await uploadToPresigned(target, new Blob([new Uint8Array(body)]));
        expect(res.ok, `part ${n}: ${res.status} ${await res.clone().text()}`).toBe(true);
      };
      // The "connection drops": parts 3 and 1 arrive (1 with the wrong bytes), then the client resumes.
      await put(3, parts[2] as Buffer);
      await put(1, randomBytes(size));
      expect((await storage.listParts(key, uploadId)).map((p) => [p.partNumber, p.size])).toEqual([
        [1, size],
        [3, 1000],
      ]);
      expect(await storage.statObject(key)).toBeNull(); // nothing at the key until completed
      await put(1, parts[0] as Buffer); // sent again: replaces the first
      await expectCode(
        storage.completeMultipartUpload(
          key,
          uploadId,
          (await storage.listParts(key, uploadId))
            .map(({ partNumber, etag }) => ({ partNumber, etag }))
            .concat({
              partNumber: 2,
              etag: 'd41d8cd98f00b204e9800998ecf8427e',
            }),
        ),
        'invalid_part',
      );
      await put(2, parts[1] as Buffer);
      const listed = await storage.listParts(key, uploadId);
      expect(listed.map((p) => p.partNumber)).toEqual([1, 2, 3]);
      expect(listed[0]?.etag).toBe(
        createHash('md5')
          .update(parts[0] as Buffer)
          .digest('hex'),
      );
      const done = await storage.completeMultipartUpload(key, uploadId, listed);
      expect(done.size).toBe(2 * size + 1000);
      const stored = await readAll(await storage.getObject(key));
      expect(sha256(stored)).toBe(sha256(Buffer.concat(parts)));
      expect((await storage.statObject(key))?.contentType).toBe('application/x-tar');
      // A finished upload is gone: its parts cannot be listed or completed again.
      await expectCode(storage.listParts(key, uploadId), 'not_found');

      const dropped = await storage.createMultipartUpload(k('multipart', 'dropped.tar'));
      const target = await storage.presignedUploadPart(k('multipart', 'dropped.tar'), dropped, 1, { maxBytes: 10 });
      expect((await uploadToPresigned(target, new Blob(['0123456789']))).ok).toBe(true);
      await storage.abortMultipartUpload(k('multipart', 'dropped.tar'), dropped);
      await storage.abortMultipartUpload(k('multipart', 'dropped.tar'), dropped); // idempotent
      await expectCode(storage.listParts(k('multipart', 'dropped.tar'), dropped), 'not_found');
      expect(await storage.statObject(k('multipart', 'dropped.tar'))).toBeNull();
      await expectCode(storage.presignedUploadPart(key, uploadId, 0, { maxBytes: 10 }), 'invalid_part');
      await expectCode(storage.presignedUploadPart(key, uploadId, 10_001, { maxBytes: 10 }), 'invalid_part');
    });
  });
}
