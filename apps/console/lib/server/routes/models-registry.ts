import { getPrisma } from '@crucible/db';
import { downloadView } from '@crucible/services/model-downloads';
import { requireWorkspace } from '../context';
import { json, route } from '../http';

/**
 * The model registry of a workspace: base models (the workspace's own plus the instance's built-in ones, which
 * have no workspace) and fine-tuned models with their lineage (base model, dataset version, job, final losses).
 */

export const listBaseModels = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const rows = await getPrisma().baseModel.findMany({
    where: { OR: [{ workspaceId: workspace.id }, { workspaceId: null }] },
    orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    take: 200,
    include: { download: true },
  });
  return json({
    data: rows.map((b) => ({
      id: b.id,
      name: b.name,
      displayName: b.displayName,
      arch: b.arch,
      parameterCount: b.parameterCount === null ? null : Number(b.parameterCount),
      source: b.source,
      sourceRef: b.sourceRef,
      status: b.status,
      contextLength: b.contextLength,
      sizeBytes: b.sizeBytes === null ? null : Number(b.sizeBytes),
      builtin: b.workspaceId === null,
      demo: b.demo,
      // how it is being added (issue 14): the progress bar of a download, or why it failed
      download: b.download ? downloadView(b.download) : null,
      createdAt: b.createdAt.toISOString(),
    })),
  });
});

/** The lineage a fine-tuned model shows wherever it is listed: its dataset version and its job. */
export const LINEAGE_SELECT = {
  datasetVersion: { id: true, datasetId: true, number: true, dataset: { select: { name: true } } },
  job: { id: true, status: true, finishedAt: true },
} as const;

export function lineageOut(m: {
  datasetVersion: { id: string; datasetId: string; number: number; dataset: { name: string } } | null;
  job: { id: string; status: string; finishedAt: Date | null } | null;
}) {
  return {
    datasetVersion: m.datasetVersion
      ? {
          id: m.datasetVersion.id,
          datasetId: m.datasetVersion.datasetId,
          datasetName: m.datasetVersion.dataset.name,
          number: m.datasetVersion.number,
        }
      : null,
    job: m.job ? { id: m.job.id, status: m.job.status, finishedAt: m.job.finishedAt?.toISOString() ?? null } : null,
  };
}

export const listFineTunedModels = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const rows = await getPrisma().fineTunedModel.findMany({
    where: { workspaceId: workspace.id, deletedAt: null },
    orderBy: { createdAt: 'desc' },
    take: 200,
    include: {
      baseModel: { select: { id: true, name: true, arch: true } },
      datasetVersion: { select: LINEAGE_SELECT.datasetVersion },
      job: { select: LINEAGE_SELECT.job },
    },
  });
  return json({
    data: rows.map((m) => ({
      id: m.id,
      name: m.name,
      displayName: m.displayName,
      method: m.method,
      baseModel: m.baseModel,
      ...lineageOut(m),
      hyperparameters: m.hyperparameters,
      trainLoss: m.trainLoss,
      evalLoss: m.evalLoss,
      hasGgufAdapter: m.ggufAdapterObjectKey !== null,
      createdAt: m.createdAt.toISOString(),
    })),
  });
});
