import { getPrisma } from '@crucible/db';
import { datasetKindOf } from '@crucible/jobs/fine-tuning';
import { ZEditRows, ZReplacePlaceholders } from '../../schemas';
import { requireWorkspace } from '../context';
import { findDataset, findVersion } from '../datasets/imports';
import {
  DIFF_KINDS,
  defaultBase,
  deleteVersion,
  diff,
  downloadLink,
  EditRefused,
  editRows,
  invalidRows,
  PublishRefused,
  previewRows,
  publish,
  replaceVersionPlaceholders,
  type TDiffKind,
} from '../datasets/versions';
import { AppError } from '../errors';
import { BODY_LIMITS, json, readBody, route } from '../http';

// Versions of a dataset: list, detail (with statistics and the validation report), preview/search, edits and
// placeholder replacement (each a new version), diff, publish, delete, download.

export const listDatasetVersions = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findDataset(workspace.id, datasetId);
  const data = await getPrisma().datasetVersion.findMany({
    where: { datasetId, workspaceId: workspace.id },
    orderBy: { number: 'desc' },
    take: 100,
    omit: { validationReport: true },
    include: { createdBy: { select: { id: true, name: true, email: true } } },
  });
  // `kind` says which fine-tuning method trains on the version (chat: sft, preference: dpo, kto: kto).
  return json({ data: data.map(({ stats, ...v }) => ({ ...v, kind: datasetKindOf({ ...v, stats }) })) });
});

export const getDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  await findVersion(workspace.id, datasetId, versionId);
  const row = await getPrisma().datasetVersion.findFirst({
    where: { id: versionId, workspaceId: workspace.id },
    include: { createdBy: { select: { id: true, name: true, email: true } } },
  });
  return json(row && { ...row, kind: datasetKindOf(row) });
});

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new AppError('invalid_request', `${name} must be a whole number ≥ 0.`, name);
  return Math.min(n, max);
}

export const previewDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const v = await findVersion(workspace.id, datasetId, versionId);
  const url = new URL(req.url);
  const offset = intParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = Math.max(1, intParam(url, 'limit', 20, 100));
  const q = url.searchParams.get('q')?.trim() || undefined;
  return json({ template: 'qwen', ...(await previewRows(v, { offset, limit, q })) });
});

export const invalidRowsOfDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const v = await findVersion(workspace.id, datasetId, versionId);
  const url = new URL(req.url);
  const offset = intParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = Math.max(1, intParam(url, 'limit', 20, 100));
  return json(await invalidRows(v, { offset, limit }));
});

export const editDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZEditRows, BODY_LIMITS.datasetEdits);
  const v = await findVersion(ctx.workspace.id, datasetId, versionId);
  try {
    const created = await editRows({ workspaceId: ctx.workspace.id, userId: ctx.user?.id ?? null }, v, body);
    return json(created, { status: 201 });
  } catch (error) {
    if (error instanceof EditRefused) {
      return json(
        { error: { code: error.code, message: error.message, param: error.param }, problems: error.problems },
        { status: error.status },
      );
    }
    throw error;
  }
});

export const replaceDatasetPlaceholders = route(async (req, { slug, datasetId, versionId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZReplacePlaceholders);
  const v = await findVersion(ctx.workspace.id, datasetId, versionId);
  const created = await replaceVersionPlaceholders(
    { workspaceId: ctx.workspace.id, userId: ctx.user?.id ?? null },
    v,
    body.values,
  );
  return json(created, { status: 201 });
});

export const diffDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const v = await findVersion(workspace.id, datasetId, versionId);
  const url = new URL(req.url);
  const baseId = url.searchParams.get('base');
  const offset = intParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = Math.max(1, intParam(url, 'limit', 20, 100));
  const kindParam = url.searchParams.get('kind');
  if (kindParam !== null && !DIFF_KINDS.includes(kindParam as TDiffKind)) {
    throw new AppError('invalid_request', `kind must be one of ${DIFF_KINDS.join(', ')}.`, 'kind');
  }
  const kind = (kindParam ?? undefined) as TDiffKind | undefined;
  const base = baseId ? await findVersion(workspace.id, datasetId, baseId) : await defaultBase(v);
  if (!base)
    return json({
      base: null,
      version: v.id,
      offset,
      limit,
      kind: kind ?? null,
      added: [],
      removed: [],
      changed: [],
      unchanged: 0,
      counts: { added: 0, removed: 0, changed: 0 },
    });
  return json(await diff(v, base, { offset, limit, kind }));
});

export const publishDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  const v = await findVersion(workspace.id, datasetId, versionId);
  try {
    return json(await publish(v));
  } catch (error) {
    if (error instanceof PublishRefused) {
      return json(
        { error: { code: error.code, message: error.message, param: null }, report: error.report },
        { status: 409 },
      );
    }
    throw error;
  }
});

export const deleteDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'developer');
  const v = await findVersion(workspace.id, datasetId, versionId);
  await deleteVersion(v);
  return json({ id: v.id, deleted: true });
});

export const downloadDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const dataset = await findDataset(workspace.id, datasetId);
  const v = await findVersion(workspace.id, datasetId, versionId);
  const original = new URL(req.url).searchParams.get('original') === '1';
  return json(await downloadLink(v, dataset.name, original));
});

export const getDatasetVersionReport = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const dataset = await findDataset(workspace.id, datasetId);
  const v = await findVersion(workspace.id, datasetId, versionId);
  const name = `${dataset.name.replace(/[^A-Za-z0-9._-]+/g, '_')}-v${v.number}-validation.json`;
  return json(v.validationReport ?? null, { headers: { 'content-disposition': `attachment; filename="${name}"` } });
});
