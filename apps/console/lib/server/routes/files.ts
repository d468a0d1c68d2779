import { Readable } from 'node:stream';
import { newId, readDatasetLimits } from '@crucible/dataset-store';
import { getPrisma } from '@crucible/db';
import { contentDisposition, getStorage, isAllowedUploadType } from '@crucible/storage';
import {
  completeUpload,
  housekeepingWorkerRunning,
  newUploadKey,
  noHousekeepingWorker,
  waitForImport,
} from '../datasets/imports';
import { deleteVersion, versionFileName } from '../datasets/versions';
import { AppError } from '../errors';
import { apiKeyWorkspace as keyWorkspace } from '../gateway/auth';
import { openaiRoute as files } from '../gateway/errors';

// OpenAI's Files API shape (POST/GET /v1/files, GET/DELETE /v1/files/{id}, GET /v1/files/{id}/content), so the
// official SDKs can upload training files with a workspace API key. A file is a dataset version: `file-<versionId>`.
// Errors use OpenAI's shape `{error: {message, type, param, code}}` (openaiRoute).

const fileId = (versionId: string) => `file-${versionId}`;

function versionIdOf(id: string): string {
  if (!id.startsWith('file-') || id.length < 6) throw new AppError('not_found', `No such File object: ${id}`, 'id');
  return id.slice(5);
}

type TVersionWithDataset = {
  id: string;
  number: number;
  createdAt: Date;
  originalFilename: string | null;
  sizeBytes: bigint | null;
  errorCount: number;
  validationReport: unknown;
  dataset: { name: string; purpose: string };
};

function fileObject(v: TVersionWithDataset) {
  const report = v.validationReport as {
    bytes?: number;
    problems?: { code: string; count: number; severity: string }[];
  } | null;
  const errors = (report?.problems ?? []).filter((p) => p.severity === 'error');
  return {
    id: fileId(v.id),
    object: 'file' as const,
    bytes: report?.bytes ?? Number(v.sizeBytes ?? 0),
    created_at: Math.floor(v.createdAt.getTime() / 1000),
    filename: v.originalFilename ?? `${v.dataset.name}-v${v.number}.jsonl`,
    purpose: v.dataset.purpose,
    status: v.errorCount > 0 ? ('error' as const) : ('processed' as const),
    status_details:
      v.errorCount > 0
        ? `Validation found ${v.errorCount} error(s): ${errors.map((p) => `${p.code} (${p.count})`).join(', ')}.`
        : null,
    expires_at: null,
  };
}

async function findFile(workspaceId: string, id: string) {
  const row = await getPrisma().datasetVersion.findFirst({
    where: { id: versionIdOf(id), workspaceId, dataset: { deletedAt: null } },
    include: { dataset: { select: { name: true, purpose: true } } },
  });
  if (!row) throw new AppError('not_found', `No such File object: ${id}`, 'id');
  return row;
}

const PURPOSES = ['fine-tune'] as const;

export const createFile = files(async (req) => {
  const workspaceId = await keyWorkspace(req);
  const limits = readDatasetLimits();
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > limits.maxBytes + 1024 * 1024) {
    throw new AppError('invalid_request', `The file is larger than the limit of ${limits.maxBytes} bytes.`, 'file');
  }
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new AppError('invalid_request', 'Send multipart/form-data with a `file` and a `purpose`.', 'file');
  }
  const purpose = form.get('purpose');
  if (typeof purpose !== 'string' || !(PURPOSES as readonly string[]).includes(purpose)) {
    throw new AppError('invalid_request', `'purpose' must be one of: ${PURPOSES.join(', ')}.`, 'purpose');
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw new AppError('invalid_request', "'file' must be a file.", 'file');
  if (file.size === 0) throw new AppError('invalid_request', 'The file is empty.', 'file');
  if (file.size > limits.maxBytes) {
    throw new AppError('invalid_request', `The file is larger than the limit of ${limits.maxBytes} bytes.`, 'file');
  }
  if (!isAllowedUploadType(file.type)) {
    throw new AppError(
      'invalid_request',
      `A file may not be sent as "${file.type}"; send JSONL (application/jsonl or application/octet-stream).`,
      'file',
    );
  }
  // A NUL or control character in a name would reach Postgres (0x00 is refused there: a 500) and headers.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(file.name)) {
    throw new AppError('invalid_request', 'The file name holds a control character; rename the file.', 'file');
  }
  const fileName = (file.name || 'upload.jsonl').replace(/[/\\]/g, '_').slice(0, 200);
  const prisma = getPrisma();
  const dataset = await prisma.dataset.create({ data: { workspaceId, name: fileName, purpose } });
  const uploadId = newId('up_');
  const key = newUploadKey(workspaceId, dataset.id, uploadId, fileName);
  await getStorage().putObject(key, Readable.fromWeb(file.stream() as import('node:stream/web').ReadableStream), {
    size: file.size,
    contentType: file.type || 'application/octet-stream',
  });
  // Validated by the housekeeping worker; OpenAI's API answers with the processed file, so this request waits for it.
  const started = await completeUpload({ workspaceId, userId: null }, dataset.id, { uploadId, fileName });
  if (!(await housekeepingWorkerRunning())) throw noHousekeepingWorker('file');
  const finished = await waitForImport(workspaceId, started.id, { signal: req.signal });
  if (finished.status === 'validating') {
    throw new AppError(
      'unavailable',
      'The file is still being validated (is a housekeeping worker running?).',
      'file',
      {
        'retry-after': '30',
      },
    );
  }
  if (!finished.versionId) {
    await prisma.dataset.update({ where: { id: dataset.id }, data: { deletedAt: new Date() } });
    await getStorage().deleteObject(key);
    throw new AppError('invalid_request', finished.error?.message ?? 'The file could not be imported.', 'file');
  }
  return Response.json(fileObject(await findFile(workspaceId, fileId(finished.versionId))));
});

export const listFiles = files(async (req) => {
  const workspaceId = await keyWorkspace(req);
  const url = new URL(req.url);
  const limit = Math.min(10_000, Math.max(1, Number(url.searchParams.get('limit') ?? 10_000) || 10_000));
  const order = url.searchParams.get('order') === 'asc' ? 'asc' : 'desc';
  const purpose = url.searchParams.get('purpose');
  const after = url.searchParams.get('after');
  const prisma = getPrisma();
  let cursor: { createdAt: Date; id: string } | null = null;
  if (after) {
    const a = await prisma.datasetVersion.findFirst({ where: { id: versionIdOf(after), workspaceId } });
    if (!a) throw new AppError('invalid_request', `No such File object: ${after}`, 'after');
    cursor = { createdAt: a.createdAt, id: a.id };
  }
  const cmp = order === 'asc' ? 'gt' : 'lt';
  const rows = await prisma.datasetVersion.findMany({
    where: {
      workspaceId,
      dataset: { deletedAt: null, ...(purpose ? { purpose } : {}) },
      ...(cursor
        ? {
            OR: [{ createdAt: { [cmp]: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { [cmp]: cursor.id } }],
          }
        : {}),
    },
    orderBy: [{ createdAt: order }, { id: order }],
    take: limit + 1,
    include: { dataset: { select: { name: true, purpose: true } } },
  });
  const data = rows.slice(0, limit).map(fileObject);
  return Response.json({
    object: 'list',
    data,
    has_more: rows.length > limit,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  });
});

export const retrieveFile = files(async (req, { fileId: id }) => {
  const workspaceId = await keyWorkspace(req);
  return Response.json(fileObject(await findFile(workspaceId, id)));
});

export const deleteFile = files(async (req, { fileId: id }) => {
  const workspaceId = await keyWorkspace(req);
  const v = await findFile(workspaceId, id);
  await deleteVersion(v);
  // A dataset made by POST /v1/files holds that one file: when its last version goes, the dataset goes too.
  const left = await getPrisma().datasetVersion.count({ where: { datasetId: v.datasetId } });
  if (left === 0) await getPrisma().dataset.update({ where: { id: v.datasetId }, data: { deletedAt: new Date() } });
  return Response.json({ id, object: 'file', deleted: true });
});

/** The file as uploaded (or the canonical JSONL for versions made by edits). */
export const fileContent = files(async (req, { fileId: id }) => {
  const workspaceId = await keyWorkspace(req);
  const v = await findFile(workspaceId, id);
  const key = v.originalObjectKey ?? v.objectKey;
  if (!key.startsWith(`workspaces/${workspaceId}/`)) throw new AppError('not_found', 'The file content is not stored.');
  const body = await getStorage()
    .getObject(key)
    .catch(() => {
      throw new AppError('not_found', 'The file content is not stored.');
    });
  // Saved under a real name (it was "content", and "download" from the console), not the last path segment.
  const name = v.originalObjectKey
    ? (v.originalFilename ?? versionFileName(v.dataset.name, v.number))
    : versionFileName(v.dataset.name, v.number);
  return new Response(Readable.toWeb(body) as ReadableStream, {
    headers: { 'content-type': 'application/octet-stream', 'content-disposition': contentDisposition(name) },
  });
});
