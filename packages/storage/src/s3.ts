import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import * as Minio from 'minio';
import { checkedUploadType, downloadName } from './content-types';
import { StorageError } from './errors';
import { assertValidKey, assertValidPartNumber, assertValidPrefix } from './keys';
import { clampExpiry } from './local';
import { contentDisposition, type Storage, type TObjectInfo, type TObjectStat, type TUploadedPart } from './types';

export type TS3StorageOptions = {
  endpoint: string;
  /** Host that presigned URLs are signed for, when browsers reach the server by another name. */
  publicEndpoint?: string;
  region: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /**
   * Origins of the console (APP_URL): browsers upload straight to presigned S3 targets (dataset files, model archive
   * parts), which a cross-origin request may only do under a CORS rule of the bucket. A bucket without any CORS rule
   * gets one for these origins; a rule an operator set is left as it is (see allowBrowserOrigins).
   */
  corsOrigins?: string[];
};

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
const isNotFound = (error: unknown) => NOT_FOUND_CODES.has((error as { code?: string })?.code ?? '');
const codeOf = (error: unknown) => (error as { code?: string })?.code ?? '';
// S3 answers NoSuchUpload for an unknown upload id; Ceph RGW answers NoSuchKey once the upload was completed.
const isNoSuchUpload = (error: unknown) => ['NoSuchUpload', 'NoSuchKey'].includes(codeOf(error));

/** minio keeps ListParts protected (its own putObject uses it); it is the plain S3 call, paged. */
type TListPartsClient = {
  listParts(bucket: string, key: string, uploadId: string): Promise<{ part: number; etag: string; size: number }[]>;
};

function noSuchUpload(key: string, error?: unknown) {
  return new StorageError('not_found', `No multipart upload in progress for "${key}" with that id.`, { cause: error });
}

/** Builds a minio client for an endpoint URL; path-style addressing, since RGW and MinIO have no bucket DNS here. */
export function createMinioClient(o: Pick<TS3StorageOptions, 'endpoint' | 'region' | 'accessKey' | 'secretKey'>) {
  const url = new URL(o.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Minio.Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: o.accessKey,
    secretKey: o.secretKey,
    region: o.region,
    pathStyle: true,
  });
}

export function createS3Storage(
  options: TS3StorageOptions,
): Storage & { readonly client: Minio.Client; readonly bucket: string } {
  const client = createMinioClient(options);
  // A presigned signature covers the Host header, so URLs for browsers must be signed for the public name.
  // Signing is local (the region is configured, so minio asks the server nothing), so this client never
  // needs to reach the public endpoint itself.
  const signer =
    options.publicEndpoint && options.publicEndpoint !== options.endpoint
      ? createMinioClient({ ...options, endpoint: options.publicEndpoint })
      : client;
  const { bucket, region } = options;

  // The bucket is created on first use rather than by a setup step, so a fresh S3 server just works.
  // Memoised as a promise (concurrent first calls share one check); a failure is forgotten so a later call retries.
  let bucketReady: Promise<void> | null = null;
  function ensureBucket(): Promise<void> {
    bucketReady ??= (async () => {
      if (!(await client.bucketExists(bucket))) {
        try {
          await client.makeBucket(bucket, region);
        } catch (error) {
          // Another process won the race: fine.
          const code = (error as { code?: string }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
        }
      }
      if (options.corsOrigins?.length) await allowBrowserOrigins(client, bucket, options.corsOrigins);
    })().catch((error) => {
      bucketReady = null;
      throw new StorageError('unavailable', `S3 at ${options.endpoint} is not reachable: ${(error as Error).message}`, {
        cause: error,
      });
    });
    return bucketReady;
  }

  async function range(key: string, offset: number, length?: number): Promise<Readable> {
    assertValidKey(key);
    await ensureBucket();
    try {
      return offset === 0 && length === undefined
        ? await client.getObject(bucket, key)
        : await client.getPartialObject(bucket, key, offset, length);
    } catch (error) {
      if (isNotFound(error)) throw new StorageError('not_found', `No object at "${key}".`, { cause: error });
      throw error;
    }
  }

  return {
    driver: 's3',
    client,
    bucket,

    async putObject(key, body, opts) {
      assertValidKey(key);
      await ensureBucket();
      const size = Buffer.isBuffer(body) ? body.length : opts?.size;
      const meta = { 'Content-Type': opts?.contentType || 'application/octet-stream' };
      const info = await client.putObject(bucket, key, body, size, meta);
      // A stream of unknown size: ask the server what it stored rather than counting on the way.
      const stored = size ?? (await client.statObject(bucket, key)).size;
      return { key, size: stored, etag: info.etag };
    },

    getObject: (key) => range(key, 0),
    getObjectRange: (key, offset, length) => range(key, offset, length),

    async statObject(key): Promise<TObjectStat | null> {
      assertValidKey(key);
      await ensureBucket();
      try {
        const s = await client.statObject(bucket, key);
        const contentType = (s.metaData?.['content-type'] as string | undefined) ?? 'application/octet-stream';
        return { key, size: s.size, contentType, etag: s.etag, lastModified: s.lastModified };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async deleteObject(key) {
      assertValidKey(key);
      await ensureBucket();
      await client.removeObject(bucket, key); // S3 DELETE is idempotent
    },

    async deleteObjects(keys) {
      keys.forEach(assertValidKey);
      if (keys.length === 0) return;
      await ensureBucket();
      // Multi-object delete takes at most 1000 keys per request.
      for (let i = 0; i < keys.length; i += 1000) {
        const results = await client.removeObjects(bucket, keys.slice(i, i + 1000));
        const failed = results.filter(
          (r) => (r as { Code?: string }).Code && !isNotFound({ code: (r as { Code?: string }).Code }),
        );
        if (failed.length > 0)
          throw new Error(`S3 refused to delete ${failed.length} object(s): ${JSON.stringify(failed.slice(0, 3))}`);
      }
    },

    async listObjects(prefix): Promise<TObjectInfo[]> {
      assertValidPrefix(prefix);
      await ensureBucket();
      const out: TObjectInfo[] = [];
      const stream = client.listObjectsV2(bucket, prefix, true);
      for await (const item of stream as AsyncIterable<Minio.BucketItem>) {
        if (item.name) out.push({ key: item.name, size: item.size, lastModified: item.lastModified });
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async presignedPut(key, opts) {
      assertValidKey(key);
      await ensureBucket();
      // A POST policy, not a presigned PUT: only a policy can carry content-length-range, so the server itself
      // refuses an over-size upload (a presigned PUT URL accepts any size).
      const expiresAt = new Date(Date.now() + clampExpiry(opts.expiresSec) * 1000);
      const policy = signer.newPostPolicy();
      policy.setBucket(bucket);
      policy.setKey(key);
      policy.setExpires(expiresAt);
      policy.setContentLengthRange(0, opts.maxBytes);
      if (opts.contentType) policy.setContentType(checkedUploadType(opts.contentType));
      const { postURL, formData } = await signer.presignedPostPolicy(policy);
      const fields: Record<string, string> = {};
      for (const [name, value] of Object.entries(formData)) fields[name] = String(value);
      return { url: postURL, method: 'POST', fields, expiresAt };
    },

    async createMultipartUpload(key, opts) {
      assertValidKey(key);
      await ensureBucket();
      const type = opts?.contentType ? checkedUploadType(opts.contentType) : 'application/octet-stream';
      return client.initiateNewMultipartUpload(bucket, key, { 'Content-Type': type });
    },

    async presignedUploadPart(key, uploadId, partNumber, opts) {
      assertValidKey(key);
      assertValidPartNumber(partNumber);
      await ensureBucket();
      // A query-signed UploadPart: the signature covers the host, key, uploadId and partNumber but not the size
      // (only a POST policy can limit that, and S3 has none for parts), so the caller checks sizes via listParts.
      const expiresSec = clampExpiry(opts.expiresSec);
      const url = await signer.presignedUrl('PUT', bucket, key, expiresSec, {
        partNumber: String(partNumber),
        uploadId,
      });
      return { url, method: 'PUT', headers: {}, expiresAt: new Date(Date.now() + expiresSec * 1000) };
    },

    async listParts(key, uploadId): Promise<TUploadedPart[]> {
      assertValidKey(key);
      await ensureBucket();
      try {
        const parts = await (client as unknown as TListPartsClient).listParts(bucket, key, uploadId);
        return parts
          .map((p) => ({ partNumber: p.part, size: p.size, etag: p.etag }))
          .sort((a, b) => a.partNumber - b.partNumber);
      } catch (error) {
        if (isNoSuchUpload(error)) throw noSuchUpload(key, error);
        throw error;
      }
    },

    async completeMultipartUpload(key, uploadId, parts) {
      assertValidKey(key);
      for (const p of parts) assertValidPartNumber(p.partNumber);
      await ensureBucket();
      const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
      try {
        const done = await client.completeMultipartUpload(
          bucket,
          key,
          uploadId,
          sorted.map((p) => ({ part: p.partNumber, etag: p.etag })),
        );
        const stored = await client.statObject(bucket, key);
        return { key, size: stored.size, etag: done.etag };
      } catch (error) {
        const code = codeOf(error);
        if (isNoSuchUpload(error)) throw noSuchUpload(key, error);
        if (code === 'InvalidPart' || code === 'InvalidPartOrder' || code === 'EntityTooSmall') {
          throw new StorageError(
            'invalid_part',
            `S3 refused to join the parts (${code}): ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    },

    async abortMultipartUpload(key, uploadId) {
      assertValidKey(key);
      await ensureBucket();
      try {
        await client.abortMultipartUpload(bucket, key, uploadId);
      } catch (error) {
        if (!isNoSuchUpload(error)) throw error;
      }
    },

    async presignedGet(key, expiresSec, opts) {
      assertValidKey(key);
      await ensureBucket();
      // S3 sets response headers named in the signed query, so no proxy is needed: always an attachment, never the
      // type the uploader declared (content-types.ts).
      const headers: Record<string, string> = {
        'response-content-disposition': contentDisposition(opts?.filename ?? downloadName(key)),
        'response-content-type': 'application/octet-stream',
      };
      return signer.presignedGetObject(bucket, key, clampExpiry(expiresSec), headers);
    },

    async health() {
      try {
        // An endpoint that drops packets would hang the health route for minutes without a bound.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from ${options.endpoint} within 5 s`)), 5000);
        });
        await Promise.race([ensureBucket(), timeout]).finally(() => clearTimeout(timer));
        return { ok: true, driver: 's3', detail: `bucket ${bucket} at ${options.endpoint}` };
      } catch (error) {
        return { ok: false, driver: 's3', detail: (error as Error).message };
      }
    },
  };
}

/** The bucket's CORS configuration XML, or null when it has none (S3's NoSuchCORSConfiguration). */
async function bucketCors(client: Minio.Client, bucket: string): Promise<string | null> {
  try {
    const res = await client.makeRequestAsync({ method: 'GET', bucketName: bucket, query: 'cors' }, '', [200]);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (codeOf(error) === 'NoSuchCORSConfiguration') return null;
    throw error;
  }
}

/**
 * A CORS rule letting the console's origins PUT/POST uploads and GET downloads, with ETag readable (the console
 * learns parts through listParts, but S3 upload clients read it). Only where the bucket has no CORS configuration:
 * an operator's own rules win. A server without the API (MinIO answers NotImplemented; it allows every origin
 * itself) or a key without the right is logged as a warning, not made an error: uploads from workers and the server
 * never need the rule.
 */
async function allowBrowserOrigins(client: Minio.Client, bucket: string, origins: string[]): Promise<void> {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  try {
    const existing = await bucketCors(client, bucket);
    if (existing !== null) {
      const missing = origins.filter((o) => !existing.includes(`>${esc(o)}<`) && !existing.includes('>*<'));
      if (missing.length)
        console.warn(
          `[storage] bucket "${bucket}" has a CORS configuration that does not name ${missing.join(', ')}: ` +
            'browser uploads from the console need a rule allowing PUT, POST and GET from it and exposing ETag.',
        );
      return;
    }
    const rule = [
      ...origins.map((o) => `<AllowedOrigin>${esc(o)}</AllowedOrigin>`),
      ...['GET', 'HEAD', 'PUT', 'POST'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`),
      '<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>',
    ].join('');
    const xml = `<CORSConfiguration><CORSRule>${rule}</CORSRule></CORSConfiguration>`;
    const md5 = createHash('md5').update(xml).digest('base64');
    const headers = { 'Content-MD5': md5, 'Content-Type': 'application/xml' };
    await client.makeRequestAsync({ method: 'PUT', bucketName: bucket, query: 'cors', headers }, xml, [200]);
  } catch (error) {
    console.warn(
      `[storage] could not set a CORS rule on bucket "${bucket}" for ${origins.join(', ')} ` +
        `(${codeOf(error) || (error as Error).message}); browser uploads need one if this server enforces CORS.`,
    );
  }
}
