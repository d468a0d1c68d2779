import { ACCEPTED_EXTENSIONS, readDatasetLimits, TOKENIZER_NAME } from '@crucible/dataset-store';
import { getPrisma } from '@crucible/db';
import { getStorage } from '@crucible/storage';
import { ZCompleteUpload, ZCreateDataset, ZStartUpload } from '../../schemas';
import { requireWorkspace } from '../context';
import {
  cancelImport,
  completeUpload,
  findDataset,
  getImport,
  housekeepingWorkerRunning,
  listImports,
  startUpload,
  waitForImport,
} from '../datasets/imports';
import { SAMPLE_FILE_NAME, SAMPLE_JSONL } from '../datasets/sample';
import { json, readBody, route } from '../http';

// Datasets of a workspace: list, create, delete, upload (presigned, straight to storage), import (validate →
// version). Versions have their own file (datasets-versions.ts). Every query names the workspace.

const PAGE = 100;

function limitOf(req: Request): number {
  const raw = Number(new URL(req.url).searchParams.get('limit') ?? PAGE);
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, PAGE) : PAGE;
}

const VERSION_SUMMARY = {
  id: true,
  number: true,
  status: true,
  format: true,
  rowCount: true,
  tokenCount: true,
  errorCount: true,
  sha256: true,
  createdAt: true,
  publishedAt: true,
} as const;

export const listDatasets = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const data = await getPrisma().dataset.findMany({
    where: { workspaceId: workspace.id, deletedAt: null },
    orderBy: { createdAt: 'desc' },
    take: limitOf(req),
    include: {
      _count: { select: { versions: true } },
      versions: { orderBy: { number: 'desc' }, take: 1, select: VERSION_SUMMARY },
    },
  });
  return json({
    data: data.map(({ versions, _count, ...d }) => ({
      ...d,
      versionCount: _count.versions,
      latestVersion: versions[0] ?? null,
    })),
  });
});

export const createDataset = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZCreateDataset);
  const row = await getPrisma().dataset.create({
    data: { workspaceId: ctx.workspace.id, name: body.name, description: body.description, createdById: ctx.user?.id },
  });
  return json(row, { status: 201 });
});

export const getDataset = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  return json(await findDataset(workspace.id, datasetId));
});

/** Soft delete: the rows stay for jobs and models that point at its versions. */
export const deleteDataset = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  await findDataset(workspace.id, datasetId);
  await getPrisma().dataset.update({ where: { id: datasetId }, data: { deletedAt: new Date() } });
  return json({ id: datasetId, deleted: true });
});

export const getDatasetLimits = route(async (req, { slug }) => {
  await requireWorkspace(req, slug, 'viewer');
  return json({
    ...readDatasetLimits(),
    tokenizer: TOKENIZER_NAME,
    extensions: ACCEPTED_EXTENSIONS,
    storage: getStorage().driver,
  });
});

export const getDatasetTemplate = route(async (req, { slug }) => {
  await requireWorkspace(req, slug, 'viewer');
  // JSON like every API answer; the upload page offers the same text as a file download.
  return json({ fileName: SAMPLE_FILE_NAME, contentType: 'application/jsonl', content: SAMPLE_JSONL });
});

export const startDatasetUpload = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZStartUpload);
  await findDataset(workspace.id, datasetId);
  return json(await startUpload(workspace, datasetId, body), { status: 201 });
});

export const listDatasetImports = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findDataset(workspace.id, datasetId);
  return json({ data: await listImports(workspace.id, datasetId) });
});

export const getDatasetImport = route(async (req, { slug, datasetId, importId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findDataset(workspace.id, datasetId);
  return json(await getImport(workspace.id, datasetId, importId));
});

/**
 * Completes an upload: queues the validation of the stored file into a new version (the housekeeping worker runs
 * it). 202 with the import at once; `wait: true` answers when it has finished (201 with the version, or 422 with the
 * error), or still running after IMPORT_WAIT_MS or with no housekeeping worker alive (202).
 */
export const createDatasetImport = route(async (req, { slug, datasetId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZCompleteUpload);
  await findDataset(ctx.workspace.id, datasetId);
  const record = await completeUpload({ workspaceId: ctx.workspace.id, userId: ctx.user?.id ?? null }, datasetId, body);
  // Nothing would finish it while no housekeeping worker runs: answer that it is queued (202) instead of waiting.
  if (!body.wait || !(await housekeepingWorkerRunning())) return json(record, { status: 202 });
  const finished = await waitForImport(ctx.workspace.id, record.id, { signal: req.signal });
  if (finished.status === 'validating') return json(finished, { status: 202 });
  const version = finished.versionId
    ? await getPrisma().datasetVersion.findUnique({ where: { id: finished.versionId } })
    : null;
  return json({ ...finished, version }, { status: finished.status === 'succeeded' ? 201 : 422 });
});

/** Stops a running import (no version is made); 202 with the import as it stands, `cancelled` once it stopped. */
export const cancelDatasetImport = route(async (req, { slug, datasetId, importId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  await findDataset(workspace.id, datasetId);
  return json(await cancelImport(workspace.id, datasetId, importId), { status: 202 });
});
