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
