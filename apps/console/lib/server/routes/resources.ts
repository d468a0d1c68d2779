import { getPrisma } from '@crucible/db';
import { requireWorkspace } from '../context';
import { AppError } from '../errors';
import { json, route } from '../http';

/**
 * Read-only lists and details of a workspace's resources. Every query has
 * `workspaceId` in its where clause — looking a row up by id alone and then
 * checking would be one forgotten check away from a leak — and a row of
 * another workspace is simply "not found".
 */

const PAGE = 100;

function limitOf(req: Request): number {
  const raw = Number(new URL(req.url).searchParams.get('limit') ?? PAGE);
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, PAGE) : PAGE;
}

function found<T>(row: T | null, what: string): T {
  if (!row) throw new AppError('not_found', `No such ${what}.`);
  return row;
}

export const listDatasets = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const data = await getPrisma().dataset.findMany({
    where: { workspaceId: workspace.id, deletedAt: null },
    orderBy: { createdAt: 'desc' },
    take: limitOf(req),
  });
  return json({ data });
});

export const getDataset = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await getPrisma().dataset.findFirst({
    where: { id: datasetId, workspaceId: workspace.id, deletedAt: null },
  });
  return json(found(row, 'dataset'));
});

export const listDatasetVersions = route(async (req, { slug, datasetId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const prisma = getPrisma();
  found(
    await prisma.dataset.findFirst({ where: { id: datasetId, workspaceId: workspace.id, deletedAt: null } }),
    'dataset',
  );
  const data = await prisma.datasetVersion.findMany({
    where: { datasetId, workspaceId: workspace.id },
    orderBy: { number: 'desc' },
    take: limitOf(req),
  });
  return json({ data });
});

export const getDatasetVersion = route(async (req, { slug, datasetId, versionId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await getPrisma().datasetVersion.findFirst({
    where: { id: versionId, datasetId, workspaceId: workspace.id },
  });
  return json(found(row, 'dataset version'));
});

export const listJobs = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const data = await getPrisma().trainingJob.findMany({
    where: { workspaceId: workspace.id },
    orderBy: { createdAt: 'desc' },
    take: limitOf(req),
  });
  return json({ data });
});

export const getJob = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await getPrisma().trainingJob.findFirst({ where: { id: jobId, workspaceId: workspace.id } });
  return json(found(row, 'fine-tuning job'));
});

export const listModels = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const data = await getPrisma().fineTunedModel.findMany({
    where: { workspaceId: workspace.id, deletedAt: null },
    orderBy: { createdAt: 'desc' },
    take: limitOf(req),
  });
  return json({ data });
});

export const getModel = route(async (req, { slug, modelId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await getPrisma().fineTunedModel.findFirst({
    where: { id: modelId, workspaceId: workspace.id, deletedAt: null },
  });
  return json(found(row, 'model'));
});

export const listDeployments = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const data = await getPrisma().deployment.findMany({
    where: { workspaceId: workspace.id },
    orderBy: { createdAt: 'desc' },
    take: limitOf(req),
  });
  return json({ data });
});

export const getDeployment = route(async (req, { slug, deploymentId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const row = await getPrisma().deployment.findFirst({ where: { id: deploymentId, workspaceId: workspace.id } });
  return json(found(row, 'deployment'));
});

/** The latest ledger lines; billing's aggregates come with the billing issue. */
export const listUsage = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const data = await getPrisma().usageRecord.findMany({
    where: { workspaceId: workspace.id },
    orderBy: { occurredAt: 'desc' },
    take: limitOf(req),
  });
  return json({ data });
});
