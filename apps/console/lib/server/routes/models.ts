import { Readable } from 'node:stream';
import { readAuthEnv } from '@crucible/auth';
import { getPrisma, type ModelExport } from '@crucible/db';
import { enqueue, FINE_TUNING_METHODS, modelExportJob } from '@crucible/jobs';
import { trainerWorkers, trainingNeeds, workersThatFit } from '@crucible/services/catalog';
import { downloadView } from '@crucible/services/model-downloads';
import { getStorage, type TTarEntry, tarObjects, tarSize } from '@crucible/storage';
import { z } from 'zod';
import { actorOf, audit } from '../audit';
import { requireWorkspace, type TWorkspaceContext } from '../context';
import { AppError } from '../errors';
import { json, readBody, route } from '../http';
import {
  ARTIFACT_IDS,
  baseArtifacts,
  baseFiles,
  DEFAULT_DTYPE,
  EXPORT_DTYPES,
  exportFilesOf,
  fineTunedArtifacts,
  fineTunedFiles,
  type TArtifact,
  type TArtifactId,
  type TExportFormat,
  type TStoredFile,
} from '../models/artifacts';
import { modelCard, snippets, type TCardInput } from '../models/card';
import { LINEAGE_SELECT, lineageOut } from './models-registry';

/**
 * The model pages' API (issue 6, "Models"): a fine-tuned or base model with its lineage, model card, downloads and
 * "how to load it" snippets; edits to its name and description; exports built on request (merged safetensors,
 * GGUF); downloads (one file: a redirect to a presigned URL; several: a tar streamed from storage); delete with
 * guards (never while a deployment serves it; a base model never while anything was built on it).
 */

const WSP = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;
const ACTIVE = ['deploying', 'running'] as const;

const ZArtifact = z.enum(ARTIFACT_IDS as [TArtifactId, ...TArtifactId[]]);

export const ZPatchFineTunedModel = z.strictObject({
  displayName: z.string().trim().max(128).nullable().optional(),
  description: z.string().max(20_000).nullable().optional(),
});

export const ZCreateExport = z
  .strictObject({
    format: z.enum(['safetensors', 'gguf']),
    dtype: z.enum(['F32', 'BF16', 'F16', 'Q8_0']).optional(),
    /** for a LoRA fine-tune: `base` exports its base model's GGUF (what llama.cpp takes with the GGUF adapter) */
    of: z.enum(['model', 'base']).optional(),
  })
  .superRefine((b, ctx) => {
    const allowed: readonly string[] = EXPORT_DTYPES[b.format];
    if (b.dtype && !allowed.includes(b.dtype)) {
      ctx.addIssue({
        code: 'custom',
        path: ['dtype'],
        message: `A ${b.format} export is one of ${allowed.join(', ')}, not ${b.dtype}.`,
      });
    }
  });

const ftInclude = {
  baseModel: { select: { id: true, name: true, displayName: true, arch: true, sourceRef: true } },
  datasetVersion: { select: LINEAGE_SELECT.datasetVersion },
  job: { select: LINEAGE_SELECT.job },
  deployments: { select: { id: true, name: true, status: true }, orderBy: { createdAt: 'desc' as const } },
} as const;

async function findFineTuned(workspaceId: string, id: string) {
  const row = await getPrisma().fineTunedModel.findFirst({
    where: { workspaceId, deletedAt: null, OR: [{ id }, { name: id }] },
    include: ftInclude,
  });
  if (!row) throw new AppError('not_found', 'No such model.');
  return row;
}
type TFtRow = Awaited<ReturnType<typeof findFineTuned>>;

async function findBase(workspaceId: string, id: string) {
  const row = await getPrisma().baseModel.findFirst({
    where: { id, OR: [{ workspaceId }, { workspaceId: null }] },
    include: { download: true },
  });
  if (!row) throw new AppError('not_found', 'No such base model.');
  return row;
}
type TBaseRow = Awaited<ReturnType<typeof findBase>>;

const isLora = (m: Pick<TFtRow, 'adapterObjectKey' | 'ggufAdapterObjectKey' | 'mergedObjectKey'>) =>
  Boolean(m.adapterObjectKey || m.ggufAdapterObjectKey) || !m.mergedObjectKey;

const exportsOf = (workspaceId: string, subject: string) =>
  getPrisma().modelExport.findMany({ where: { workspaceId, subject }, orderBy: { createdAt: 'asc' } });

function cardOfFineTuned(m: TFtRow): string {
  const input: TCardInput = {
    kind: 'fine_tuned',
    name: m.name,
    displayName: m.displayName,
    description: m.card,
    method: isLora(m) ? (m.method ?? 'sft_lora') : 'sft_full',
    base: { name: m.baseModel.name, sourceRef: m.baseModel.sourceRef, arch: m.baseModel.arch },
    dataset: m.datasetVersion ? { name: m.datasetVersion.dataset.name, version: m.datasetVersion.number } : null,
    job: m.job ? { id: m.job.id, finishedAt: m.job.finishedAt } : null,
    hyperparameters: (m.hyperparameters ?? null) as Record<string, unknown> | null,
    trainLoss: m.trainLoss,
    evalLoss: m.evalLoss,
    createdAt: m.createdAt,
  };
  return modelCard(input);
}

function cardOfBase(b: TBaseRow): string {
  return modelCard({
    kind: 'base',
    name: b.name,
    displayName: b.displayName,
    description: null,
    method: null,
    base: { name: b.name, sourceRef: b.sourceRef, arch: b.arch },
    dataset: null,
    job: null,
    hyperparameters: null,
    trainLoss: null,
    evalLoss: null,
    createdAt: b.createdAt,
  });
}

const appUrl = () => readAuthEnv().APP_URL.replace(/\/+$/, '');
const slugName = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'model';

const filesPath = (base: string, artifact: string, dtype?: string | null) =>
  `${base}/files/${artifact}${dtype ? `?dtype=${dtype}` : ''}`;

/** Adds where each artifact downloads from, and the card's real size. */
function withPaths(artifacts: TArtifact[], base: string, card: string) {
  return artifacts.map((a) => ({
    ...a,
    ...(a.id === 'card' ? { files: [{ name: 'README.md', size: Buffer.byteLength(card) }] } : {}),
    ...(a.id === 'card' ? { sizeBytes: Buffer.byteLength(card) } : {}),
    downloadPath: filesPath(base, a.id, a.dtype),
  }));
}

const ftBasePath = (slug: string, id: string) => `${WSP(slug)}/fine-tuned-models/${encodeURIComponent(id)}`;
const baseBasePath = (slug: string, id: string) => `${WSP(slug)}/base-models/${encodeURIComponent(id)}`;

export const getFineTunedModel = route(async (req, { slug, modelId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const m = await findFineTuned(workspace.id, modelId);
  const [own, base] = await Promise.all([
    exportsOf(workspace.id, `ft:${m.id}`),
    exportsOf(workspace.id, `base:${m.baseModelId}`),
  ]);
  const card = cardOfFineTuned(m);
  const path = ftBasePath(workspace.slug, m.id);
  const lora = isLora(m);
  return json({
    id: m.id,
    kind: 'fine_tuned',
    name: m.name,
    openaiId: m.name,
    displayName: m.displayName,
    description: m.card,
    method: lora ? (m.method ?? 'sft_lora') : 'sft_full',
    lora,
    baseModel: m.baseModel,
    ...lineageOut(m),
    hyperparameters: m.hyperparameters,
    trainLoss: m.trainLoss,
    evalLoss: m.evalLoss,
    deployments: m.deployments,
    createdAt: m.createdAt.toISOString(),
    artifacts: withPaths(await fineTunedArtifacts(m, { own, base }), path, card),
    card,
    snippets: snippets({
      kind: 'fine_tuned',
      lora,
      openaiId: m.name,
      base: { name: m.baseModel.name, sourceRef: m.baseModel.sourceRef, arch: m.baseModel.arch },
      slugName: slugName(m.displayName ?? m.name),
      appUrl: appUrl(),
      downloadUrl: (a, d) => filesPath(path, a, d),
    }),
  });
});

export const patchFineTunedModel = route(async (req, { slug, modelId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const m = await findFineTuned(ctx.workspace.id, modelId);
  const body = await readBody(req, ZPatchFineTunedModel);
  await getPrisma().fineTunedModel.update({
    where: { id: m.id },
    data: {
      ...(body.displayName !== undefined ? { displayName: body.displayName || null } : {}),
      ...(body.description !== undefined ? { card: body.description?.trim() ? body.description : null } : {}),
    },
  });
  await audit(req, actorOf(ctx), 'model.update', { type: 'fine_tuned_model', id: m.id }, { fields: Object.keys(body) });
  return getFineTunedModel(req, { slug, modelId: m.id });
});

async function deleteStored(keys: (string | null)[], prefixes: (string | null)[]) {
  const storage = getStorage();
  const all = keys.filter((k): k is string => Boolean(k));
  for (const p of prefixes) {
    if (!p) continue;
    all.push(...(await storage.listObjects(p.endsWith('/') ? p : `${p}/`)).map((o) => o.key));
  }
  if (all.length) await storage.deleteObjects([...new Set(all)]);
}

function refuseWhileServed(deployments: { name: string; status: string }[], what: string) {
  const live = deployments.filter((d) => (ACTIVE as readonly string[]).includes(d.status));
  if (live.length) {
    throw new AppError(
      'conflict',
      `${what} is served by ${live.map((d) => `"${d.name}"`).join(', ')}: stop ${live.length === 1 ? 'that deployment' : 'those deployments'} first.`,
    );
  }
}

type TActor = { workspaceId: string; user?: { id: string }; apiKey?: { id: string } };

/** Deletes a fine-tuned model's files (adapter, weights, GGUF, exports) and hides it; its lineage rows stay. */
export async function deleteFineTunedModelOf(req: Request, actor: TActor, modelId: string) {
  const m = await findFineTuned(actor.workspaceId, modelId);
  refuseWhileServed(m.deployments, `Model ${m.name}`);
  const db = getPrisma();
  const own = await exportsOf(actor.workspaceId, `ft:${m.id}`);
  // The row goes first: from here on nothing serves or exports it, so no file is read while it is deleted.
  await db.fineTunedModel.update({
    where: { id: m.id },
    data: { deletedAt: new Date(), adapterObjectKey: null, ggufAdapterObjectKey: null, mergedObjectKey: null },
  });
  await db.modelExport.deleteMany({ where: { id: { in: own.map((e) => e.id) } } });
  await deleteStored(
    [m.ggufAdapterObjectKey],
    [m.adapterObjectKey ?? m.mergedObjectKey, ...own.map((e) => e.objectKey)],
  );
  await audit(req, actor, 'model.delete', { type: 'fine_tuned_model', id: m.id }, { name: m.name });
  return m;
}

export const deleteFineTunedModel = route(async (req, { slug, modelId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  await deleteFineTunedModelOf(req, actorOf(ctx), modelId);
  return new Response(null, { status: 204 });
});

/** Queues (or finds) an export; a failed one is tried again. 202 while it is being built, 200 once built. */
async function requestExport(
  ctx: TWorkspaceContext,
  req: Request,
  subject: { kind: 'ft' | 'base'; id: string },
  format: TExportFormat,
  dtype: string,
) {
  const db = getPrisma();
  const key = { workspaceId: ctx.workspace.id, subject: `${subject.kind}:${subject.id}`, format, dtype };
  let row: ModelExport;
  const found = await db.modelExport.findUnique({ where: { workspaceId_subject_format_dtype: key } });
  if (found && found.status !== 'failed') {
    row = found;
  } else {
    row = found
      ? await db.modelExport.update({
          where: { id: found.id },
          data: { status: 'queued', errorCode: null, errorMessage: null, startedAt: null, finishedAt: null },
        })
      : await db.modelExport
          .create({
            data: {
              ...key,
              fineTunedModelId: subject.kind === 'ft' ? subject.id : null,
              baseModelId: subject.kind === 'base' ? subject.id : null,
              createdById: ctx.user?.id ?? null,
            },
          })
          .catch(async (error) => {
            // two clicks at once: the other request created it
            const again = await db.modelExport.findUnique({ where: { workspaceId_subject_format_dtype: key } });
            if (!again) throw error;
            return again;
          });
    if (row.status === 'queued') {
      await enqueue(modelExportJob, { exportId: row.id });
      await audit(req, actorOf(ctx), 'model.export', { type: 'model_export', id: row.id }, { ...key });
    }
  }
  return json(
    {
      id: row.id,
      format: row.format,
      dtype: row.dtype,
      status: row.status,
      error: row.errorMessage,
      createdAt: row.createdAt.toISOString(),
    },
    { status: row.status === 'succeeded' ? 200 : 202 },
  );
}

export const createFineTunedExport = route(async (req, { slug, modelId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const m = await findFineTuned(ctx.workspace.id, modelId);
  const body = await readBody(req, ZCreateExport);
  const dtype = body.dtype ?? DEFAULT_DTYPE[body.format];
  if (body.of === 'base') {
    if (body.format !== 'gguf')
      throw new AppError('invalid_request', 'Only a GGUF of the base model can be built here.', 'format');
    return requestExport(ctx, req, { kind: 'base', id: m.baseModelId }, 'gguf', dtype);
  }
  if (body.format === 'safetensors' && !isLora(m)) {
    throw new AppError(
      'invalid_request',
      'This is a full fine-tune: its safetensors are the "weights" download; only a GGUF can be built.',
      'format',
    );
  }
  return requestExport(ctx, req, { kind: 'ft', id: m.id }, body.format, dtype);
});

/** A generated file, or stored files: one is a redirect to storage, several are a tar streamed from it. */
async function sendFiles(
  req: Request,
  o: { artifact: TArtifactId; files: TStoredFile[]; card?: string; archive: string; file?: string | null },
): Promise<Response> {
  const storage = getStorage();
  let files = o.files;
  if (o.file) {
    files = files.filter((f) => f.name === o.file);
    if (!files.length && !(o.card && o.file === 'README.md')) {
      throw new AppError('not_found', `This download has no file named "${o.file}".`, 'file');
    }
  }
  if (o.artifact === 'card' || (o.file === 'README.md' && o.card)) {
    return new Response(o.card, {
      headers: {
        'content-type': 'text/markdown; charset=utf-8',
        'content-disposition': 'attachment; filename="README.md"',
        'cache-control': 'private, no-store',
      },
    });
  }
  if (files.length === 0) throw new AppError('not_found', 'Nothing of this model is stored for that download.');
  if (files.length === 1 && (o.file || !o.card)) {
    const url = await storage.presignedGet(files[0].key, 900, { filename: files[0].name });
    // A relative local-driver URL resolves against this request's origin.
    return new Response(null, {
      status: 302,
      headers: { location: new URL(url, req.url).toString(), 'cache-control': 'private, no-store' },
    });
  }
  const entries: TTarEntry[] = files.map((f) => ({ name: f.name, key: f.key, size: f.size }));
  // PEFT writes a README.md model card beside the adapter; so does this archive.
  if (o.card) entries.push({ name: 'README.md', body: Buffer.from(o.card), size: Buffer.byteLength(o.card) });
  const stream = tarObjects(storage, entries);
  return new Response(Readable.toWeb(stream) as unknown as ReadableStream, {
    headers: {
      'content-type': 'application/x-tar',
      'content-length': String(tarSize(entries)),
      'content-disposition': `attachment; filename="${o.archive}"`,
      'cache-control': 'private, no-store',
    },
  });
}

function readDownloadQuery(req: Request, params: { artifact: string }) {
  const q = new URL(req.url).searchParams;
  const parsed = ZArtifact.safeParse(params.artifact);
  if (!parsed.success) {
    throw new AppError('not_found', `No download "${params.artifact}"; one of ${ARTIFACT_IDS.join(', ')}.`);
  }
  return { artifact: parsed.data, dtype: q.get('dtype')?.toUpperCase() ?? null, file: q.get('file') };
}

/** The ready export behind an export artifact, or a 409 saying how to build it / that it is being built. */
async function readyExport(
  workspaceId: string,
  subject: string,
  format: TExportFormat,
  dtype: string | null,
  buildPath: string,
  of?: 'base',
) {
  const d = dtype ?? DEFAULT_DTYPE[format];
  const row = await getPrisma().modelExport.findUnique({
    where: { workspaceId_subject_format_dtype: { workspaceId, subject, format, dtype: d } },
  });
  if (!row || row.status === 'failed') {
    throw new AppError(
      'conflict',
      `The ${d} ${format} download is not built${row ? ` (the last try failed: ${row.errorMessage})` : ''}: POST ${buildPath} with {"format": "${format}", "dtype": "${d}"${of ? ', "of": "base"' : ''}} builds it.`,
    );
  }
  if (row.status !== 'succeeded')
    throw new AppError('conflict', `The ${d} ${format} download is being built (${row.status}).`);
  return exportFilesOf(row);
}

export const downloadFineTunedModel = route(async (req, { slug, modelId, artifact }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const m = await findFineTuned(workspace.id, modelId);
  const q = readDownloadQuery(req, { artifact });
  const stem = slugName(m.displayName ?? m.name);
  const exportsPath = `${ftBasePath(workspace.slug, m.id)}/exports`;
  const files = await fineTunedFiles(m);
  const card = cardOfFineTuned(m);
  switch (q.artifact) {
    case 'card':
      return sendFiles(req, { artifact: 'card', files: [], card, archive: 'README.md' });
    case 'adapter':
      return sendFiles(req, { ...q, files: files.adapter, card, archive: `${stem}-adapter.tar` });
    case 'gguf-adapter':
      return sendFiles(req, { ...q, files: files.ggufAdapter, archive: `${stem}-adapter.gguf` });
    case 'weights':
      return sendFiles(req, { ...q, files: files.weights, card, archive: `${stem}.tar` });
    case 'logs':
      return sendFiles(req, { ...q, files: files.logs, archive: `${stem}-logs.tar` });
    case 'merged':
      return sendFiles(req, {
        ...q,
        files: await readyExport(workspace.id, `ft:${m.id}`, 'safetensors', q.dtype, exportsPath),
        card,
        archive: `${stem}-merged.tar`,
      });
    case 'gguf':
      return sendFiles(req, {
        ...q,
        files: await readyExport(workspace.id, `ft:${m.id}`, 'gguf', q.dtype, exportsPath),
        archive: `${stem}.gguf`,
      });
    case 'gguf-base':
      return sendFiles(req, {
        ...q,
        files: await readyExport(workspace.id, `base:${m.baseModelId}`, 'gguf', q.dtype, exportsPath, 'base'),
        archive: `${slugName(m.baseModel.name)}.gguf`,
      });
  }
});

// ───────────────────────────── base models ─────────────────────────────

export const getBaseModel = route(async (req, { slug, baseModelId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const b = await findBase(workspace.id, baseModelId);
  const db = getPrisma();
  const [exports, fineTuned, jobs, deployments] = await Promise.all([
    exportsOf(workspace.id, `base:${b.id}`),
    db.fineTunedModel.count({ where: { baseModelId: b.id, workspaceId: workspace.id, deletedAt: null } }),
    db.trainingJob.count({ where: { baseModelId: b.id, workspaceId: workspace.id } }),
    db.deployment.findMany({
      where: { baseModelId: b.id, workspaceId: workspace.id },
      select: { id: true, name: true, status: true },
      orderBy: { createdAt: 'desc' },
    }),
  ]);
  const card = cardOfBase(b);
  const path = baseBasePath(workspace.slug, b.id);
  const config = (b.config ?? {}) as Record<string, unknown>;
  const needs = b.status === 'ready' ? trainingNeeds(config) : null;
  const workers = needs ? await trainerWorkers() : [];
  return json({
    id: b.id,
    kind: 'base',
    status: b.status,
    download: b.download ? downloadView(b.download) : null,
    dtype:
      typeof config.torch_dtype === 'string'
        ? config.torch_dtype
        : typeof config.dtype === 'string'
          ? config.dtype
          : null,
    architecture: Array.isArray(config.architectures) ? String(config.architectures[0]) : null,
    chatTemplate: b.chatTemplate,
    // which methods and workers can train it (issue 14): the training core's verdict on its config, the memory a run
    // with the default hyper-parameters needs, and how many live trainer workers have that memory
    training: needs
      ? {
          unsupported: needs.unsupported,
          methods: needs.unsupported ? [] : FINE_TUNING_METHODS,
          memory: { sft_lora: needs.lora, sft_full: needs.full, settings: needs.settings },
          fits: workersThatFit(needs, workers),
          workers,
        }
      : null,
    name: b.name,
    openaiId: b.name,
    displayName: b.displayName,
    arch: b.arch,
    source: b.source,
    sourceRef: b.sourceRef,
    revision: b.revision,
    parameterCount: b.parameterCount === null ? null : Number(b.parameterCount),
    contextLength: b.contextLength,
    sizeBytes: b.sizeBytes === null ? null : Number(b.sizeBytes),
    builtin: b.workspaceId === null,
    config: b.config,
    usage: { fineTunedModels: fineTuned, jobs },
    deployments,
    createdAt: b.createdAt.toISOString(),
    artifacts: withPaths(await baseArtifacts(b, exports), path, card),
    card,
    snippets: snippets({
      kind: 'base',
      lora: false,
      openaiId: b.name,
      base: { name: b.name, sourceRef: b.sourceRef, arch: b.arch },
      slugName: slugName(b.displayName ?? b.name),
      appUrl: appUrl(),
      downloadUrl: (a, d) => filesPath(path, a, d),
    }),
  });
});

export const createBaseExport = route(async (req, { slug, baseModelId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const b = await findBase(ctx.workspace.id, baseModelId);
  const body = await readBody(req, ZCreateExport);
  if (body.format !== 'gguf') {
    throw new AppError(
      'invalid_request',
      'A base model’s safetensors are the "weights" download; only a GGUF can be built.',
      'format',
    );
  }
  return requestExport(ctx, req, { kind: 'base', id: b.id }, 'gguf', body.dtype ?? DEFAULT_DTYPE.gguf);
});

export const downloadBaseModel = route(async (req, { slug, baseModelId, artifact }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const b = await findBase(workspace.id, baseModelId);
  const q = readDownloadQuery(req, { artifact });
  const stem = slugName(b.displayName ?? b.name);
  const card = cardOfBase(b);
  if (q.artifact === 'card') return sendFiles(req, { artifact: 'card', files: [], card, archive: 'README.md' });
  if (q.artifact === 'weights') {
    const files = await baseFiles(b);
    if (!files.length && b.path) {
      throw new AppError('not_found', `This model's files are a folder on the server (${b.path}), not in storage.`);
    }
    return sendFiles(req, { ...q, files, archive: `${stem}.tar` });
  }
  if (q.artifact === 'gguf') {
    const files = await readyExport(
      workspace.id,
      `base:${b.id}`,
      'gguf',
      q.dtype,
      `${baseBasePath(workspace.slug, b.id)}/exports`,
    );
    return sendFiles(req, { ...q, files, archive: `${stem}.gguf` });
  }
  throw new AppError('not_found', `A base model has no "${q.artifact}" download (card, weights or gguf).`);
});

export const deleteBaseModel = route(async (req, { slug, baseModelId }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const b = await findBase(ctx.workspace.id, baseModelId);
  if (b.workspaceId === null) {
    throw new AppError('forbidden', 'Built-in models belong to the instance; an instance admin removes them.');
  }
  const db = getPrisma();
  const [deployments, fineTuned, jobs] = await Promise.all([
    db.deployment.findMany({ where: { baseModelId: b.id }, select: { name: true, status: true } }),
    db.fineTunedModel.count({ where: { baseModelId: b.id } }),
    db.trainingJob.count({ where: { baseModelId: b.id } }),
  ]);
  refuseWhileServed(deployments, `Base model ${b.name}`);
  const uses = [
    fineTuned ? `${fineTuned} fine-tuned model${fineTuned === 1 ? '' : 's'}` : '',
    jobs ? `${jobs} training job${jobs === 1 ? '' : 's'}` : '',
    deployments.length ? `${deployments.length} stopped deployment${deployments.length === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  if (uses.length) {
    throw new AppError(
      'conflict',
      `${b.name} is the base of ${uses.join(', ')}; it stays so their lineage stays true. Delete those first.`,
    );
  }
  const exports = await exportsOf(ctx.workspace.id, `base:${b.id}`);
  await db.baseModel.delete({ where: { id: b.id } }); // exports cascade
  await deleteStored([b.ggufObjectKey], [b.objectKey, ...exports.map((e) => e.objectKey)]);
  await audit(req, actorOf(ctx), 'base_model.delete', { type: 'base_model', id: b.id }, { name: b.name });
  return new Response(null, { status: 204 });
});
