import { getPrisma, isUniqueViolation } from '@crucible/db';
import { enqueue, modelDownloadJob } from '@crucible/jobs';
import { checkRepoId } from '@crucible/trainer/hub/sources';
import { z } from 'zod';
import { parseInput, ServiceError } from './errors';
import type { TCaller } from './jobs';
import { checkModelName } from './model-name';
import { completedUploadArchive } from './model-uploads';
import { HUB_TOKEN_KINDS, saveHubToken } from './secrets';

/**
 * "Add base model" (issue 14): a workspace adds a base model from Hugging Face or ModelScope (repo id + revision,
 * with the workspace's access token for gated repos), from a folder on the workers' shared storage, or from an
 * uploaded .tar/.zip of a model directory. Each makes the BaseModel row at once (status `downloading`, so its name
 * is taken and the models page lists it with a progress bar) and a BaseModelDownload row, and enqueues
 * `model.download` for the housekeeping worker (workers/housekeeping/src/model-download.ts), which fetches, checks
 * and stores the files and marks the model `ready` — or `failed`, with the reason on the download row.
 */

export const MODEL_DOWNLOAD_SOURCES = ['huggingface', 'modelscope', 'directory', 'upload'] as const;

const ZName = z.string().trim().min(1).max(64).optional();
const ZDisplayName = z.string().trim().max(128).optional();

export const ZAddBaseModel = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.enum(['huggingface', 'modelscope']),
    /** `owner/name`, as on the hub. */
    repo: z.string().trim().min(1, 'repo is required').max(200),
    /** Branch, tag or commit; default the hub's default branch (main / master). */
    revision: z
      .string()
      .trim()
      .max(200)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'revision must be a branch, tag or commit name')
      .optional(),
    name: ZName,
    displayName: ZDisplayName,
    /** An access token for gated or private repos: stored encrypted as the workspace's token for this hub. */
    token: z.string().trim().min(1).max(500).optional(),
    /** Send the workspace's stored token (default: when one is stored). */
    useToken: z.boolean().optional(),
  }),
  z.strictObject({
    source: z.literal('directory'),
    /** A folder under the workers' MODELS_SHARED_DIR (relative, or absolute inside it). */
    path: z
      .string()
      .trim()
      .min(1, 'path is required')
      .max(1000)
      .refine((p) => !p.split(/[\\/]/).includes('..'), 'path may not contain ".." segments'),
    name: ZName,
    displayName: ZDisplayName,
  }),
  z.strictObject({
    source: z.literal('upload'),
    uploadId: z.string().regex(/^mu_[A-Za-z0-9_-]{8,40}$/, 'uploadId is the id a model upload started with'),
    name: ZName,
    displayName: ZDisplayName,
  }),
]);
export type TAddBaseModel = z.input<typeof ZAddBaseModel>;

/** A default model name from where it comes from: the repo's, the folder's or the archive's last part. */
function defaultName(from: string): string {
  const last = from.split(/[\\/]/).filter(Boolean).pop() ?? 'model';
  const stem = last.replace(/\.(tar\.gz|tgz|tar|zip)$/i, '');
  return (stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'model').slice(0, 64);
}

export type TBaseModelDownloadRow = NonNullable<Awaited<ReturnType<typeof findDownload>>>;

const findDownload = (where: { id?: string; baseModelId?: string }) =>
  getPrisma().baseModelDownload.findFirst({ where });

/** The API shape of a download: what the progress bar shows (bytes, speed, ETA) and how it ended. */
export function downloadView(d: TBaseModelDownloadRow) {
  const total = Number(d.totalBytes);
  const done = Number(d.doneBytes);
  const speed = d.bytesPerSecond ?? null;
  const running = d.status === 'downloading' || d.status === 'storing';
  return {
    id: d.id,
    source: d.source,
    repo: d.repo,
    revision: d.revision,
    commit: d.commit,
    path: d.path,
    fileName: d.fileName,
    status: d.status,
    totalBytes: total,
    doneBytes: done,
    bytesPerSecond: speed,
    etaSeconds: running && speed && speed > 0 && total > done ? Math.ceil((total - done) / speed) : null,
    currentFile: d.currentFile,
    attempts: d.attempts,
    error:
      d.status === 'failed'
        ? { code: d.errorCode ?? 'failed', message: d.errorMessage ?? 'The download failed.' }
        : null,
    note: d.status !== 'failed' ? d.errorMessage : null,
    createdAt: d.createdAt.toISOString(),
    startedAt: d.startedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
  };
}

async function enqueueDownload(id: string, baseModelId: string) {
  const prisma = getPrisma();
  try {
    const { id: queueJobId } = await enqueue(modelDownloadJob, { downloadId: id });
    await prisma.baseModelDownload.update({ where: { id }, data: { queueJobId } });
  } catch (error) {
    const message = `The download could not be queued (${(error as Error).message}); try again in a few seconds.`;
    await prisma.baseModelDownload.update({
      where: { id },
      data: { status: 'failed', errorCode: 'queue_unavailable', errorMessage: message, finishedAt: new Date() },
    });
    await prisma.baseModel.update({ where: { id: baseModelId }, data: { status: 'failed' } });
    throw new ServiceError('unavailable', message);
  }
}

/**
 * Adds a base model to the workspace from a hub, the shared folder or an uploaded archive: checks the input, makes
 * the rows and queues the download. Answers the base model and its download at once.
 */
export async function addBaseModel(workspaceId: string, input: unknown, by: TCaller = {}) {
  const body = parseInput(ZAddBaseModel, input);
  const prisma = getPrisma();
  let from: string;
  let objectKey: string | null = null;
  let fileName: string | null = null;
  let hub: 'huggingface' | 'modelscope' | null = null;
  if (body.source === 'directory') {
    from = body.path;
  } else if (body.source === 'upload') {
    ({ objectKey, fileName } = await completedUploadArchive(workspaceId, body.uploadId));
    from = fileName;
    if (await prisma.baseModelDownload.findFirst({ where: { workspaceId, objectKey } })) {
      throw new ServiceError(
        'conflict',
        'This upload was added already; upload the archive again to add it again.',
        'uploadId',
      );
    }
  } else {
    hub = body.source;
    try {
      checkRepoId(body.repo, hub);
    } catch (error) {
      throw new ServiceError('invalid_request', (error as Error).message, 'repo');
    }
    from = body.repo;
  }
  const name = body.name ?? defaultName(from);
  checkModelName(name);
  let useToken = false;
  if (hub && 'repo' in body) {
    if (body.token) {
      await saveHubToken(workspaceId, hub, body.token, by.userId ?? null);
      useToken = true;
    } else {
      const stored = await prisma.workspaceSecret.count({ where: { workspaceId, kind: HUB_TOKEN_KINDS[hub] } });
      if (body.useToken && !stored) {
        throw new ServiceError(
          'invalid_request',
          `This workspace has no ${hub} access token stored; give one.`,
          'token',
        );
      }
      useToken = (body.useToken ?? true) && stored > 0;
    }
  }
  const revision = hub
    ? ((body as { revision?: string }).revision ?? (hub === 'huggingface' ? 'main' : 'master'))
    : null;
  let created: { baseId: string; downloadId: string };
  try {
    created = await prisma.$transaction(async (tx) => {
      const base = await tx.baseModel.create({
        data: {
          workspaceId,
          name,
          displayName: body.displayName || null,
          arch: 'unknown',
          source: hub ?? (body.source === 'directory' ? 'local' : 'upload'),
          sourceRef: hub ? from : null,
          revision,
          status: 'downloading',
          createdById: by.userId ?? null,
        },
      });
      const download = await tx.baseModelDownload.create({
        data: {
          workspaceId,
          baseModelId: base.id,
          source: body.source,
          repo: hub ? from : null,
          revision,
          path: body.source === 'directory' ? body.path : null,
          objectKey,
          fileName,
          useToken,
          createdById: by.userId ?? null,
        },
      });
      return { baseId: base.id, downloadId: download.id };
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ServiceError(
        'conflict',
        `This workspace already has a base model named "${name}"; choose another name.`,
        'name',
      );
    }
    throw error;
  }
  await enqueueDownload(created.downloadId, created.baseId);
  return baseModelWithDownload(workspaceId, created.baseId);
}

/** A failed download, queued again (the worker resumes from what its cache folder kept). */
export async function retryBaseModelDownload(workspaceId: string, baseModelId: string) {
  const prisma = getPrisma();
  const d = await prisma.baseModelDownload.findFirst({ where: { workspaceId, baseModelId } });
  if (!d) throw new ServiceError('not_found', 'This base model was not added by a download.', 'baseModelId');
  if (d.status !== 'failed') {
    throw new ServiceError('conflict', `This download is ${d.status}; only a failed one is tried again.`);
  }
  const restarted = await prisma.baseModelDownload.updateMany({
    where: { id: d.id, status: 'failed' },
    data: { status: 'queued', errorCode: null, errorMessage: null, finishedAt: null, attempts: 0 },
  });
  if (restarted.count !== 1) throw new ServiceError('conflict', 'This download was tried again already.');
  await prisma.baseModel.update({ where: { id: baseModelId }, data: { status: 'downloading' } });
  await enqueueDownload(d.id, baseModelId);
  return baseModelWithDownload(workspaceId, baseModelId);
}

export async function baseModelWithDownload(workspaceId: string, baseModelId: string) {
  const base = await getPrisma().baseModel.findFirst({
    where: { id: baseModelId, workspaceId },
    include: { download: true },
  });
  if (!base) throw new ServiceError('not_found', 'No such base model.', 'baseModelId');
  return {
    id: base.id,
    name: base.name,
    displayName: base.displayName,
    status: base.status,
    source: base.source,
    sourceRef: base.sourceRef,
    revision: base.revision,
    download: base.download ? downloadView(base.download) : null,
  };
}
