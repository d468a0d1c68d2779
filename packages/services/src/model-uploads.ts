import { randomBytes } from 'node:crypto';
import { getPrisma } from '@crucible/db';
import {
  getStorage,
  isStorageError,
  MULTIPART_MAX_PART_BYTES,
  MULTIPART_MAX_PARTS,
  MULTIPART_MIN_PART_BYTES,
  type TUploadedPart,
  workspaceKey,
} from '@crucible/storage';
import { z } from 'zod';
import { parseInput, ServiceError } from './errors';
import type { TCaller } from './jobs';

/**
 * "Add base model" → upload a .tar/.zip of a model directory (issue 14), as a resumable multipart upload: start
 * (a ModelUpload row and the storage's multipart upload), presigned part URLs, the parts stored so far (a client
 * that reloaded or lost its connection sends only the missing ones), complete (every part there, each of the size
 * the upload set), abort. A completed upload is what `addBaseModel({source: 'upload', uploadId})` unpacks.
 */

/** Archives a model upload may be (the worker unpacks them). */
export const MODEL_ARCHIVE_EXTENSIONS = ['.tar', '.tar.gz', '.tgz', '.zip'] as const;

const MiB = 1024 * 1024;

/** The largest part: S3 allows 5 GiB, the ModelUpload row's 32-bit partSize less; 1 GiB parts hold 10 TiB. */
const MAX_PART_BYTES = Math.min(1024 * MiB, MULTIPART_MAX_PART_BYTES);

/** How many part URLs one request may ask for. */
const MAX_PARTS_PER_REQUEST = 100;

/** Part URLs live an hour: the console asks for each part's URL just before it sends that part. */
const PART_URL_EXPIRY_SEC = 3600;

const positiveInt = (name: string, raw: string | undefined, fallback: number) => {
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new ServiceError(
      'unavailable',
      `${name} must be a whole number of bytes above 0, not "${raw}"; fix the setting.`,
    );
  }
  return v;
};

/** The largest archive one upload takes: MODEL_UPLOAD_MAX_BYTES, 200 GiB by default. */
export function modelUploadMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return positiveInt('MODEL_UPLOAD_MAX_BYTES', env.MODEL_UPLOAD_MAX_BYTES, 200 * 1024 ** 3);
}

/**
 * The size of each part but the last: MODEL_UPLOAD_PART_BYTES, 64 MiB by default. S3 takes parts from 5 MiB to
 * 5 GiB, so with the S3 driver a smaller setting is refused; the local driver takes smaller parts (the browser tests
 * use them to send a small archive in several parts).
 */
function modelUploadPartBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = positiveInt('MODEL_UPLOAD_PART_BYTES', env.MODEL_UPLOAD_PART_BYTES, 64 * MiB);
  const min = getStorage().driver === 's3' ? MULTIPART_MIN_PART_BYTES : 1;
  if (v < min || v > MAX_PART_BYTES) {
    throw new ServiceError(
      'unavailable',
      `MODEL_UPLOAD_PART_BYTES is ${v}; parts are ${min} to ${MAX_PART_BYTES} bytes${min > 1 ? ' on S3' : ''}: fix the setting.`,
    );
  }
  return v;
}

/** The part size for an archive: the setting, or more where 10,000 parts (S3's limit) would not hold the archive. */
function partSizeFor(size: number, configured: number): number {
  const least = Math.ceil(size / MULTIPART_MAX_PARTS / MiB) * MiB;
  return Math.max(configured, least);
}

const partCountOf = (size: number, partSize: number) => Math.max(1, Math.ceil(size / partSize));

/** Bytes part `n` (1-based) must have: partSize, except the last, which has the rest. */
const expectedPartSize = (size: number, partSize: number, n: number) =>
  n < partCountOf(size, partSize) ? partSize : size - (n - 1) * partSize;

const modelUploadPrefix = (workspaceId: string, uploadId: string) =>
  `${workspaceKey(workspaceId, 'model-uploads', uploadId)}/`;

const archiveExtension = (fileName: string) =>
  MODEL_ARCHIVE_EXTENSIONS.find((e) => fileName.toLowerCase().endsWith(e)) ?? null;

export const ZStartModelUpload = z.strictObject({
  fileName: z.string().trim().min(1, 'fileName is required').max(255),
  size: z.number().int().positive('size must be the archive size in bytes, above 0'),
});

export const ZModelUploadParts = z.strictObject({
  partNumbers: z
    .array(z.number().int())
    .min(1, 'partNumbers lists the parts to upload, e.g. [1, 2, 3]')
    .max(MAX_PARTS_PER_REQUEST, `ask for at most ${MAX_PARTS_PER_REQUEST} parts at a time`),
});

type TModelUploadRow = Awaited<ReturnType<ReturnType<typeof getPrisma>['modelUpload']['findFirstOrThrow']>>;

/** The API shape of an upload: its part plan and, while it is open, the parts stored so far. */
function uploadView(row: TModelUploadRow, parts: TUploadedPart[] = []) {
  const size = Number(row.size);
  const partCount = partCountOf(size, row.partSize);
  const stored = parts.filter((p) => p.partNumber <= partCount);
  return {
    uploadId: row.id,
    fileName: row.fileName,
    size,
    partSize: row.partSize,
    partCount,
    status: row.status as 'uploading' | 'completed' | 'aborted',
    parts: stored.map(({ partNumber, size: bytes }) => ({ partNumber, size: bytes })),
    uploadedBytes:
      row.status === 'completed' ? size : stored.reduce((sum, p) => sum + Math.min(p.size, row.partSize), 0),
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

async function findUpload(workspaceId: string, uploadId: string): Promise<TModelUploadRow> {
  const row = await getPrisma().modelUpload.findFirst({ where: { id: uploadId, workspaceId } });
  if (!row) throw new ServiceError('not_found', 'No model upload with this id in this workspace.', 'uploadId');
  return row;
}

async function openUpload(workspaceId: string, uploadId: string): Promise<TModelUploadRow> {
  const row = await findUpload(workspaceId, uploadId);
  if (row.status !== 'uploading') {
    throw new ServiceError(
      'conflict',
      row.status === 'completed'
        ? 'This upload is complete already; add the model with its upload id.'
        : 'This upload was cancelled; start a new one.',
      'uploadId',
    );
  }
  return row;
}

async function storedParts(row: TModelUploadRow): Promise<TUploadedPart[]> {
  try {
    return await getStorage().listParts(row.objectKey, row.storageUploadId);
  } catch (error) {
    if (isStorageError(error, 'not_found')) {
      throw new ServiceError(
        'conflict',
        'Storage no longer has this upload (it expired or was removed); start the upload again.',
        'uploadId',
      );
    }
    throw error;
  }
}

/** Starts an archive upload: the multipart upload in storage, its part size, and the id to send parts with. */
export async function startModelUpload(workspaceId: string, input: unknown, by: TCaller = {}) {
  const file = parseInput(ZStartModelUpload, input);
  if (!archiveExtension(file.fileName)) {
    throw new ServiceError(
      'invalid_request',
      `"${file.fileName}" is not an archive of a model directory: upload a ${MODEL_ARCHIVE_EXTENSIONS.join(', ')} file.`,
      'fileName',
    );
  }
  const maxBytes = modelUploadMaxBytes();
  if (file.size > maxBytes) {
    throw new ServiceError(
      'invalid_request',
      `The archive is ${file.size} bytes; an upload takes at most ${maxBytes} bytes (MODEL_UPLOAD_MAX_BYTES). Add larger models from the hub or from the workers' shared folder.`,
      'size',
    );
  }
  const partSize = partSizeFor(file.size, modelUploadPartBytes());
  if (partSize > MAX_PART_BYTES) {
    throw new ServiceError(
      'invalid_request',
      `The archive is ${file.size} bytes; ${MULTIPART_MAX_PARTS} parts of at most ${MAX_PART_BYTES} bytes do not hold it.`,
      'size',
    );
  }
  const uploadId = `mu_${randomBytes(12).toString('base64url')}`;
  const safe = file.fileName.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'model.tar';
  const objectKey = `${modelUploadPrefix(workspaceId, uploadId)}${safe.slice(0, 120)}`;
  const storageUploadId = await getStorage().createMultipartUpload(objectKey);
  const row = await getPrisma().modelUpload.create({
    data: {
      id: uploadId,
      workspaceId,
      objectKey,
      fileName: safe.slice(0, 120),
      size: BigInt(file.size),
      partSize,
      storageUploadId,
      createdById: by.userId ?? null,
    },
  });
  return uploadView(row);
}

/** An upload and, while it is open, the parts storage holds: what a resuming client still has to send. */
export async function getModelUpload(workspaceId: string, uploadId: string) {
  const row = await findUpload(workspaceId, uploadId);
  return uploadView(row, row.status === 'uploading' ? await storedParts(row) : []);
}

/** Presigned PUT URLs for the given parts (1..partCount); each refuses more bytes than its part has. */
export async function presignModelUploadParts(workspaceId: string, uploadId: string, input: unknown) {
  const body = parseInput(ZModelUploadParts, input);
  const row = await openUpload(workspaceId, uploadId);
  const size = Number(row.size);
  const partCount = partCountOf(size, row.partSize);
  const outside = body.partNumbers.filter((n) => n < 1 || n > partCount);
  if (outside.length > 0) {
    throw new ServiceError(
      'invalid_request',
      `This upload has parts 1 to ${partCount} (${row.partSize} bytes each, the last the rest); part ${outside[0]} is out of range.`,
      'partNumbers',
    );
  }
  const storage = getStorage();
  const parts = await Promise.all(
    [...new Set(body.partNumbers)].map(async (partNumber) => {
      const bytes = expectedPartSize(size, row.partSize, partNumber);
      const target = await storage.presignedUploadPart(row.objectKey, row.storageUploadId, partNumber, {
        maxBytes: bytes,
        expiresSec: PART_URL_EXPIRY_SEC,
      });
      return {
        partNumber,
        size: bytes,
        offset: (partNumber - 1) * row.partSize,
        url: target.url,
        method: target.method,
        headers: target.headers ?? {},
        expiresAt: target.expiresAt.toISOString(),
      };
    }),
  );
  return { uploadId: row.id, parts };
}

/**
 * Joins the parts into the archive. Refuses while a part is missing or has another size than the plan (S3 cannot
 * limit a presigned part's size, so this is where an over-size part is caught); the client sends those parts again.
 */
export async function completeModelUpload(workspaceId: string, uploadId: string) {
  const row = await openUpload(workspaceId, uploadId);
  const size = Number(row.size);
  const partCount = partCountOf(size, row.partSize);
  const parts = await storedParts(row);
  const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
  const missing: number[] = [];
  for (let n = 1; n <= partCount; n++) if (!byNumber.has(n)) missing.push(n);
  if (missing.length > 0) {
    const list =
      missing.length > 10 ? `${missing.slice(0, 10).join(', ')} and ${missing.length - 10} more` : missing.join(', ');
    throw new ServiceError(
      'invalid_request',
      `${missing.length} of ${partCount} parts are not uploaded yet (${list}): upload them, then complete again.`,
      'parts',
    );
  }
  for (let n = 1; n <= partCount; n++) {
    const want = expectedPartSize(size, row.partSize, n);
    const got = (byNumber.get(n) as TUploadedPart).size;
    if (got !== want) {
      throw new ServiceError(
        'invalid_request',
        `Part ${n} has ${got} bytes; it should have ${want}: upload that part again, then complete.`,
        'parts',
      );
    }
  }
  const extra = parts.filter((p) => p.partNumber > partCount).map((p) => p.partNumber);
  if (extra.length > 0) {
    throw new ServiceError('invalid_request', `Parts past ${partCount} were uploaded (${extra.join(', ')}).`, 'parts');
  }
  const stored = await getStorage().completeMultipartUpload(
    row.objectKey,
    row.storageUploadId,
    parts.map(({ partNumber, etag }) => ({ partNumber, etag })),
  );
  if (stored.size !== size) {
    await getStorage().deleteObject(row.objectKey);
    throw new ServiceError('invalid_request', `The joined archive has ${stored.size} bytes, not ${size}.`, 'parts');
  }
  const done = await getPrisma().modelUpload.update({
    where: { id: row.id },
    data: { status: 'completed', completedAt: new Date() },
  });
  return uploadView(done);
}

/** How long an upload may stay unfinished before the housekeeping worker cancels it: MODEL_UPLOAD_EXPIRE_DAYS, 7. */
export function modelUploadExpiryDays(env: NodeJS.ProcessEnv = process.env): number {
  return positiveInt('MODEL_UPLOAD_EXPIRE_DAYS', env.MODEL_UPLOAD_EXPIRE_DAYS, 7);
}

/**
 * Cancels the uploads started more than MODEL_UPLOAD_EXPIRE_DAYS before `now` and never completed (a browser closed
 * for good): storage drops their parts, which would otherwise stay there unbilled and unseen, and the row says
 * aborted, so a client that comes back is told to start again. Returns how many it cancelled; one whose storage
 * upload is gone already is marked all the same, and one that fails is left for the next run.
 */
export async function expireModelUploads(now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - modelUploadExpiryDays() * 86_400_000);
  const stale = await getPrisma().modelUpload.findMany({
    where: { status: 'uploading', createdAt: { lt: cutoff } },
    take: 500,
  });
  let cancelled = 0;
  for (const row of stale) {
    try {
      await getStorage().abortMultipartUpload(row.objectKey, row.storageUploadId);
    } catch (error) {
      if (!isStorageError(error, 'not_found')) continue;
    }
    const { count } = await getPrisma().modelUpload.updateMany({
      where: { id: row.id, status: 'uploading' },
      data: { status: 'aborted' },
    });
    cancelled += count;
  }
  return cancelled;
}

/** Cancels an open upload: storage drops its parts. */
export async function abortModelUpload(workspaceId: string, uploadId: string) {
  const row = await openUpload(workspaceId, uploadId);
  await getStorage().abortMultipartUpload(row.objectKey, row.storageUploadId);
  const aborted = await getPrisma().modelUpload.update({ where: { id: row.id }, data: { status: 'aborted' } });
  return uploadView(aborted);
}

/** The archive of a completed upload, for "Add base model"; refuses one that is still open or was cancelled. */
export async function completedUploadArchive(workspaceId: string, uploadId: string) {
  const row = await getPrisma().modelUpload.findFirst({ where: { id: uploadId, workspaceId } });
  if (!row) {
    throw new ServiceError('invalid_request', 'Nothing was uploaded for this upload id in this workspace.', 'uploadId');
  }
  if (row.status !== 'completed') {
    throw new ServiceError(
      'invalid_request',
      row.status === 'uploading'
        ? 'This upload is not complete: send its missing parts and complete it, then add the model.'
        : 'This upload was cancelled; upload the archive again.',
      'uploadId',
    );
  }
  return { objectKey: row.objectKey, fileName: row.fileName };
}
