import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createS3Storage, uploadToPresigned } from '../src/index';
import { storageContract } from './contract';

/**
 * The S3 driver against a real S3 server: Ceph RGW started by `bash scripts/services/s3.sh start` (the root
 * `npm test` does that and exports its env). Each run uses its own bucket and removes it afterwards.
 */

const endpoint = process.env.S3_ENDPOINT;

if (!endpoint) {
  if (process.env.CI) {
    // In CI the real server is part of the suite: a missing endpoint is a broken pipeline, not a reason to skip.
    describe('storage contract: s3', () => {
      it('has an S3 server', () => {
        throw new Error(
          'S3_ENDPOINT is not set in CI; the root test script must run `bash scripts/services/s3.sh start` first.',
        );
      });
    });
  } else {
    console.warn(
      '[storage] SKIPPING the S3 contract suite: S3_ENDPOINT is not set. Start a server with ' +
        '`bash scripts/services/s3.sh start` and run with `eval "$(bash scripts/services/s3.sh env | sed s/^/export\\ /)"`.',
    );
    describe.skip('storage contract: s3 (S3_ENDPOINT not set)', () => {
      it('needs S3_ENDPOINT', () => {});
    });
  }
} else {
  storageContract('s3', async () => {
    const storage = createS3Storage({
      endpoint,
      region: process.env.S3_REGION || 'us-east-1',
      accessKey: process.env.S3_ACCESS_KEY ?? '',
      secretKey: process.env.S3_SECRET_KEY ?? '',
      bucket: `crucible-test-${randomUUID().slice(0, 8)}`,
    });
    return {
      storage,
      // The contract already deleted its objects; an empty bucket can go.
      cleanup: () => storage.client.removeBucket(storage.bucket),
    };
  });

  describe('s3 driver specifics', () => {
    const s3 = (bucket: string, corsOrigins?: string[]) =>
      createS3Storage({
        endpoint,
        region: process.env.S3_REGION || 'us-east-1',
        accessKey: process.env.S3_ACCESS_KEY ?? '',
        secretKey: process.env.S3_SECRET_KEY ?? '',
        bucket,
        corsOrigins,
      });
    // What a browser on the console's origin asks before a presigned multipart part PUT (XMLHttpRequest with upload
    // progress always preflights).
    const preflight = (url: string, origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'content-type',
        },
      });

    it('gives a new bucket a CORS rule for the console origin, so browsers can upload parts and read their ETag', async () => {
      const origin = 'http://console.test:3000';
      const storage = s3(`crucible-test-${randomUUID().slice(0, 8)}`, [origin]);
      try {
        const upload = await storage.createMultipartUpload('models/a.tar');
        const part = await storage.presignedUploadPart('models/a.tar', upload, 1, { expiresSec: 60, maxBytes: 64 });
        const pre = await preflight(part.url, origin);
        expect(pre.status).toBe(200);
        expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
        expect(pre.headers.get('access-control-allow-methods') ?? '').toMatch(/PUT/);
        // The real PUT, as the browser sends it: the answer lets the page read the ETag it must report.
        const put = await fetch(part.url, { method: 'PUT', body: 'part one', headers: { Origin: origin } });
        expect(put.status).toBe(200);
        expect(put.headers.get('access-control-allow-origin')).toBe(origin);
        expect((put.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('etag');
        // Another origin is not let in.
        const other = await preflight(part.url, 'http://elsewhere.test');
        expect(other.headers.get('access-control-allow-origin')).toBeNull();
        await storage.abortMultipartUpload('models/a.tar', upload);
      } finally {
        await storage.client.removeBucket(storage.bucket);
      }
    });

    it("leaves a bucket's own CORS configuration as the operator set it", async () => {
      const bucket = `crucible-test-${randomUUID().slice(0, 8)}`;
      const plain = s3(bucket);
      await plain.listObjects('x/'); // creates the bucket, no CORS rule
      const theirs =
        '<CORSConfiguration><CORSRule><AllowedOrigin>https://ops.example</AllowedOrigin>' +
        '<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>';
      const md5 = createHash('md5').update(theirs).digest('base64');
      await plain.client.makeRequestAsync(
        { method: 'PUT', bucketName: bucket, query: 'cors', headers: { 'Content-MD5': md5 } },
        theirs,
        [200],
      );
      try {
        const storage = s3(bucket, ['http://console.test:3000']);
        await storage.listObjects('x/');
        const res = await storage.client.makeRequestAsync(
          { method: 'GET', bucketName: bucket, query: 'cors' },
          '',
          [200],
        );
        let body = '';
        for await (const chunk of res) body += String(chunk);
        expect(body).toContain('https://ops.example');
        expect(body).not.toContain('console.test');
      } finally {
        await plain.client.removeBucket(bucket);
      }
    });

    it('signs presigned URLs for S3_PUBLIC_ENDPOINT when browsers reach the server by another name', async () => {
      // The same server under another host name stands in for docker-compose's minio:9000 vs localhost:9000.
      const inside = new URL(endpoint);
      const outside = new URL(endpoint);
      outside.hostname = inside.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
      const storage = createS3Storage({
        endpoint,
        publicEndpoint: outside.origin,
        region: process.env.S3_REGION || 'us-east-1',
        accessKey: process.env.S3_ACCESS_KEY ?? '',
        secretKey: process.env.S3_SECRET_KEY ?? '',
        bucket: `crucible-test-${randomUUID().slice(0, 8)}`,
      });
      try {
        const target = await storage.presignedPut('public/a.txt', { maxBytes: 100, contentType: 'text/plain' });
        expect(new URL(target.url).host).toBe(outside.host);
        const res = await uploadToPresigned(target, new Blob(['hello'], { type: 'text/plain' }));
        expect(res.ok, `${res.status} ${await res.clone().text()}`).toBe(true);
        const url = await storage.presignedGet('public/a.txt', 60);
        expect(new URL(url).host).toBe(outside.host);
        expect(await (await fetch(url)).text()).toBe('hello');
      } finally {
        await storage.deleteObjects(['public/a.txt']);
        await storage.client.removeBucket(storage.bucket);
      }
    });
  });
}
