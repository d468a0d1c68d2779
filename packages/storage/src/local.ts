import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkedUploadType } from './content-types';
import { StorageError } from './errors';
import { assertValidKey, assertValidPartNumber, assertValidPrefix } from './keys';
import { signStorageToken, type TStorageTokenClaims } from './tokens';
import {
  DEFAULT_PRESIGN_EXPIRY_SEC,
  MAX_PRESIGN_EXPIRY_SEC,
  type Storage,
  type TObjectInfo,
  type TObjectStat,
  type TPresignedUpload,
  type TPutResult,
  type TUploadedPart,
} from './types';

/**
 * The embedded default when no S3 endpoint is configured (as MLflow does): objects are plain files under
 * STORAGE_DIR at their key's path, so a person can look at them. Beside them, in folders no key can name
 * (keys never have a segment starting with "."):
 *   .tmp/   uploads in progress; a file appears at its key only when complete (rename is atomic)
 *   .meta/  one JSON per object with its content type and etag (what S3 keeps as object metadata)
 *   .uploads/<uploadId>/  a multipart upload in progress: upload.json (its key and content type) and one file per
 *           stored part, named `<5-digit part number>-<md5>` so that a part and its etag appear in one rename
 * Limitation: a key cannot be both an object and a "folder" (`a/b` and `a/b/c`), which S3 allows; our key layout
 * never does that.
 */

export type TLocalStorageOptions = { root: string; signingSecret: string; publicUrl: string };

type TMeta = { contentType: string; etag: string };

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export const LOCAL_UPLOAD_PATH = '/api/storage/upload';
export const LOCAL_DOWNLOAD_PATH = '/api/storage/download';

export function resolveLocalPath(root: string, key: string): string {
  assertValidKey(key);
  const path = resolve(root, key);
  // Belt and braces: assertValidKey already refuses "..", but the check that matters is where the path lands.
  if (!path.startsWith(root + sep)) {
    throw new StorageError('invalid_key', `The object key "${key.slice(0, 200)}" escapes the storage root.`);
  }
  return path;
}

const isNotFound = (error: unknown) =>
  typeof error === 'object' &&
  error !== null &&
  ['ENOENT', 'ENOTDIR'].includes((error as { code?: string }).code ?? '');

/** Counts and hashes bytes on their way through; errors once more than `maxBytes` went by. */
function meter(maxBytes: number | undefined) {
  const md5 = createHash('md5');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        done(new StorageError('too_large', `The upload is larger than its limit of ${maxBytes} bytes.`));
        return;
      }
      md5.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, result: () => ({ size, etag: md5.digest('hex') }) };
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const PART_FILE = /^(\d{5})-([0-9a-f]{32})$/;

export function createLocalStorage(options: TLocalStorageOptions): Storage & {
  /** Writes a stream at `key` atomically, refusing more than maxBytes (the local upload route uses it). */
  writeStream(key: string, body: Readable, opts: { contentType?: string; maxBytes?: number }): Promise<TPutResult>;
  /** Stores one part of a multipart upload, refusing more than maxBytes (the local upload route uses it). */
  writePart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: { maxBytes?: number },
  ): Promise<TUploadedPart>;
  readonly root: string;
} {
  const root = resolve(options.root);
  const tmpDir = join(root, '.tmp');
  const metaPath = (key: string) => join(root, '.meta', `${key}.json`);

  /** The folder of an upload in progress for `key`; not_found when the id is malformed, unknown, or for another key. */
  async function uploadDir(key: string, uploadId: string): Promise<{ dir: string; contentType?: string }> {
    assertValidKey(key);
    const missing = () => new StorageError('not_found', `No multipart upload in progress for "${key}" with that id.`);
    if (!UPLOAD_ID.test(uploadId)) throw missing();
    const dir = join(root, '.uploads', uploadId);
    let meta: { key: string; contentType?: string };
    try {
      meta = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8'));
    } catch {
      throw missing();
    }
    if (meta.key !== key) throw missing();
    return { dir, contentType: meta.contentType };
  }

  /** Stored parts by number; where a part was sent twice at once, the newer file wins. */
  async function storedParts(dir: string) {
    const byNumber = new Map<number, TUploadedPart & { file: string; mtime: number }>();
    for (const name of await readdir(dir)) {
      const m = PART_FILE.exec(name);
      if (!m) continue;
      let s: import('node:fs').Stats;
      try {
        s = await stat(join(dir, name));
      } catch (error) {
        if (isNotFound(error)) continue; // replaced while we listed
        throw error;
      }
      const part = {
        partNumber: Number(m[1]),
        size: s.size,
        etag: m[2] as string,
        file: join(dir, name),
        mtime: s.mtimeMs,
      };
      const seen = byNumber.get(part.partNumber);
      if (!seen || seen.mtime <= part.mtime) byNumber.set(part.partNumber, part);
    }
    return [...byNumber.values()].sort((a, b) => a.partNumber - b.partNumber);
  }

  /** A presigned PUT to the local upload route: the claims signed with an expiry (a whole object or one part). */
  function signedPut(
    claims: Omit<TStorageTokenClaims, 'v' | 'exp'>,
    expiresSec: number | undefined,
    headers: Record<string, string>,
  ): TPresignedUpload {
    const exp = Math.floor(Date.now() / 1000) + clampExpiry(expiresSec);
    const token = signStorageToken(options.signingSecret, { v: 1, exp, ...claims });
    return {
      url: `${options.publicUrl}${LOCAL_UPLOAD_PATH}?token=${encodeURIComponent(token)}`,
      method: 'PUT',
      headers,
      expiresAt: new Date(exp * 1000),
    };
  }

  async function writePart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: { maxBytes?: number },
  ): Promise<TUploadedPart> {
    assertValidPartNumber(partNumber);
    const { dir } = await uploadDir(key, uploadId);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.part`);
    const m = meter(opts.maxBytes);
    try {
      await pipeline(body, m.transform, createWriteStream(tmp, { flags: 'wx' }));
      const { size, etag } = m.result();
      const prefix = String(partNumber).padStart(5, '0');
      await rename(tmp, join(dir, `${prefix}-${etag}`));
      // The part sent before this one (a retry after a dropped connection) is replaced, as S3 does.
      // (turbopackIgnore: a folder known only at run time; without it the console's build traces the whole repo.)
      for (const name of await readdir(/*turbopackIgnore: true*/ dir)) {
        if (name.startsWith(`${prefix}-`) && name !== `${prefix}-${etag}`) await rm(join(dir, name), { force: true });
      }
      return { partNumber, size, etag };
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async function readMeta(key: string): Promise<TMeta | null> {
    try {
      return JSON.parse(await readFile(metaPath(key), 'utf8')) as TMeta;
    } catch {
      return null;
    }
  }

  async function writeStream(
    key: string,
    body: Readable,
    opts: { contentType?: string; maxBytes?: number },
  ): Promise<TPutResult> {
    const path = resolveLocalPath(root, key);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.part`);
    const m = meter(opts.maxBytes);
    try {
      await pipeline(body, m.transform, createWriteStream(tmp, { flags: 'wx' }));
      const { size, etag } = m.result();
      const meta: TMeta = { contentType: opts.contentType || DEFAULT_CONTENT_TYPE, etag };
      await mkdir(dirname(metaPath(key)), { recursive: true });
      const metaTmp = `${tmp}.meta`;
      await writeFile(metaTmp, JSON.stringify(meta));
      await rename(metaTmp, metaPath(key));
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
      return { key, size, etag };
    } catch (error) {
      await rm(tmp, { force: true });
      await rm(`${tmp}.meta`, { force: true });
      throw error;
    }
  }

  async function openRange(key: string, offset: number, length?: number): Promise<Readable> {
    const path = resolveLocalPath(root, key);
    let size: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      size = s.size;
    } catch (error) {
      if (isNotFound(error)) throw new StorageError('not_found', `No object at "${key}".`);
      throw error;
    }
    if (
      !Number.isInteger(offset) ||
      offset < 0 ||
      (length !== undefined && (!Number.isInteger(length) || length < 1))
    ) {
      throw new RangeError('offset must be an integer >= 0 and length an integer >= 1');
    }
    if (offset === 0 && length === undefined) return createReadStream(path);
    if (offset >= size && size > 0)
      throw new RangeError(`offset ${offset} is past the end of "${key}" (${size} bytes)`);
    const end = length === undefined ? size - 1 : Math.min(size - 1, offset + length - 1);
    return createReadStream(path, { start: offset, end });
  }

  // Removes folders left empty by a delete, up to (not including) the base, so listing stays cheap.
  async function pruneEmptyParents(path: string, base: string) {
    let dir = dirname(path);
    while (dir.startsWith(base + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      dir = dirname(dir);
    }
  }

  async function deleteObject(key: string) {
    const path = resolveLocalPath(root, key);
    try {
      await unlink(path);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    await rm(metaPath(key), { force: true });
    await pruneEmptyParents(path, root);
    await pruneEmptyParents(metaPath(key), join(root, '.meta'));
  }

  async function walk(dir: string, out: string[]) {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .tmp, .meta: never keys
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, out);
      else if (entry.isFile()) out.push(full);
    }
  }

  return {
    driver: 'local',
    root,
    writeStream,

    async putObject(key, body, opts) {
      const stream = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      return writeStream(key, stream, { contentType: opts?.contentType });
    },

    getObject: (key) => openRange(key, 0),
    getObjectRange: (key, offset, length) => openRange(key, offset, length),

    async statObject(key): Promise<TObjectStat | null> {
      const path = resolveLocalPath(root, key);
      try {
        const s = await stat(path);
        if (!s.isFile()) return null;
        const meta = await readMeta(key);
        return {
          key,
          size: s.size,
          contentType: meta?.contentType ?? DEFAULT_CONTENT_TYPE,
          etag: meta?.etag ?? '',
          lastModified: s.mtime,
        };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    deleteObject,
    async deleteObjects(keys) {
      keys.forEach(assertValidKey); // all or nothing on bad input
      for (const key of keys) await deleteObject(key);
    },

    async listObjects(prefix): Promise<TObjectInfo[]> {
      assertValidPrefix(prefix);
      // Start the walk at the deepest folder the prefix names; filter the rest by string prefix, as S3 does.
      const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      const files: string[] = [];
      await walk(dirPart ? resolveLocalPath(root, dirPart) : root, files);
      const out: TObjectInfo[] = [];
      for (const file of files) {
        const key = relative(root, file).split(sep).join('/');
        if (!key.startsWith(prefix)) continue;
        try {
          const s = await stat(file);
          out.push({ key, size: s.size, lastModified: s.mtime });
        } catch (error) {
          if (!isNotFound(error)) throw error; // deleted while we listed: skip it
        }
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async presignedPut(key, opts): Promise<TPresignedUpload> {
      assertValidKey(key);
      return signedPut(
        {
          op: 'put',
          key,
          maxBytes: opts.maxBytes,
          contentType: opts.contentType === undefined ? undefined : checkedUploadType(opts.contentType),
        },
        opts.expiresSec,
        opts.contentType ? { 'content-type': opts.contentType } : {},
      );
    },

    writePart,

    async createMultipartUpload(key, opts) {
      assertValidKey(key);
      const uploadId = randomUUID().replaceAll('-', '');
      const dir = join(root, '.uploads', uploadId);
      await mkdir(dir, { recursive: true });
      const contentType = opts?.contentType ? checkedUploadType(opts.contentType) : undefined;
      await writeFile(join(dir, 'upload.json'), JSON.stringify({ key, contentType }));
      return uploadId;
    },

    async presignedUploadPart(key, uploadId, partNumber, opts): Promise<TPresignedUpload> {
      assertValidKey(key);
      assertValidPartNumber(partNumber);
      return signedPut({ op: 'part', key, maxBytes: opts.maxBytes, uploadId, partNumber }, opts.expiresSec, {});
    },

    async listParts(key, uploadId) {
      const { dir } = await uploadDir(key, uploadId);
      return (await storedParts(dir)).map(({ partNumber, size, etag }) => ({ partNumber, size, etag }));
    },

    async completeMultipartUpload(key, uploadId, parts) {
      const { dir, contentType } = await uploadDir(key, uploadId);
      for (const p of parts) assertValidPartNumber(p.partNumber);
      const stored = new Map((await storedParts(dir)).map((p) => [p.partNumber, p]));
      const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
      if (sorted.length === 0) throw new StorageError('invalid_part', 'A multipart upload needs at least one part.');
      const files: string[] = [];
      for (const p of sorted) {
        const s = stored.get(p.partNumber);
        if (!s || s.etag !== p.etag.replace(/"/g, '')) {
          throw new StorageError(
            'invalid_part',
            `Part ${p.partNumber} ${s ? 'is not the one stored (its etag differs)' : 'was never uploaded'}.`,
          );
        }
        files.push(s.file);
      }
      async function* joined() {
        for (const file of files) yield* createReadStream(file);
      }
      const result = await writeStream(key, Readable.from(joined()), { contentType });
      await rm(dir, { recursive: true, force: true });
      return result;
    },

    async abortMultipartUpload(key, uploadId) {
      assertValidKey(key);
      if (!UPLOAD_ID.test(uploadId)) return;
      try {
        await uploadDir(key, uploadId);
      } catch {
        return; // unknown, or another key's: nothing to drop
      }
      await rm(join(root, '.uploads', uploadId), { recursive: true, force: true });
    },

    async presignedGet(key, expiresSec, opts) {
      assertValidKey(key);
      const exp = Math.floor(Date.now() / 1000) + clampExpiry(expiresSec);
      const token = signStorageToken(options.signingSecret, {
        v: 1,
        op: 'get',
        key,
        exp,
        ...(opts?.filename ? { filename: opts.filename } : {}),
      });
      return `${options.publicUrl}${LOCAL_DOWNLOAD_PATH}?token=${encodeURIComponent(token)}`;
    },

    async health() {
      try {
        await mkdir(root, { recursive: true });
        await access(root, 2 /* W_OK */);
        return { ok: true, driver: 'local', detail: `writable folder ${root}` };
      } catch (error) {
        return { ok: false, driver: 'local', detail: `cannot write ${root}: ${(error as Error).message}` };
      }
    },
  };
}

export function clampExpiry(expiresSec: number | undefined): number {
  const sec = expiresSec ?? DEFAULT_PRESIGN_EXPIRY_SEC;
  if (!Number.isInteger(sec) || sec < 1 || sec > MAX_PRESIGN_EXPIRY_SEC) {
    throw new RangeError(`expiresSec must be an integer between 1 and ${MAX_PRESIGN_EXPIRY_SEC}`);
  }
  return sec;
}
