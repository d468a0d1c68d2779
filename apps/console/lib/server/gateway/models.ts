import { getPrisma } from '@crucible/db';
import { modelNotFound } from './errors';

/**
 * Model ids on the gateway (documented in README.md of this folder):
 * - a base model: its registry name (`Qwen/Qwen2.5-0.5B-Instruct`, `tiny-qwen`), the workspace's own or built-in;
 * - a fine-tuned model: OpenAI's pattern `ft:BASE:WORKSPACE:SUFFIX:ID` (the FineTunedModel's name, set by the
 *   trainer), or its database id.
 * A model of another workspace is "not found" (404 model_not_found), never "forbidden".
 */

export type TResolvedModel = {
  openaiId: string;
  kind: 'base' | 'fine_tuned';
  modelId: string;
  baseModelId: string;
  fineTunedModelId: string | null;
  /** A running dedicated deployment of this model in the workspace, if any (requests are logged against it). */
  deploymentId: string | null;
  /** Whether that deployment keeps its requests and answers (request logs), and for how many days. */
  logRequests: boolean;
  logRetentionDays: number | null;
};

export async function resolveModel(workspaceId: string, model: string): Promise<TResolvedModel> {
  const db = getPrisma();
  const ft = await db.fineTunedModel.findFirst({
    where: { workspaceId, deletedAt: null, OR: [{ name: model }, { id: model }] },
    select: { id: true, name: true, baseModelId: true },
  });
  let resolved: Omit<TResolvedModel, 'deploymentId' | 'logRequests' | 'logRetentionDays'>;
  if (ft) {
    resolved = {
      openaiId: ft.name,
      kind: 'fine_tuned',
      modelId: ft.id,
      baseModelId: ft.baseModelId,
      fineTunedModelId: ft.id,
    };
  } else {
    const bases = await db.baseModel.findMany({
      where: { name: model, OR: [{ workspaceId }, { workspaceId: null }] },
      select: { id: true, name: true, workspaceId: true },
    });
    // The workspace's own model of that name wins over a built-in one.
    const base = bases.find((b) => b.workspaceId === workspaceId) ?? bases[0];
    if (!base) throw modelNotFound(model);
    resolved = { openaiId: base.name, kind: 'base', modelId: base.id, baseModelId: base.id, fineTunedModelId: null };
  }
  const dep = await db.deployment.findFirst({
    where: {
      workspaceId,
      status: 'running',
      ...(resolved.fineTunedModelId
        ? { fineTunedModelId: resolved.fineTunedModelId }
        : { baseModelId: resolved.baseModelId, fineTunedModelId: null }),
    },
    orderBy: { startedAt: 'desc' },
    select: { id: true, logRequests: true, logRetentionDays: true },
  });
  return {
    ...resolved,
    deploymentId: dep?.id ?? null,
    logRequests: dep?.logRequests ?? false,
    logRetentionDays: dep?.logRetentionDays ?? null,
  };
}

export type TGatewayModel = {
  openaiId: string;
  id: string;
  name: string;
  kind: 'base' | 'fine_tuned';
  deployed: boolean;
  createdAt: Date;
  ownedBy: string;
  /** A fine-tune's base model (its OpenAI id), when that base can be called here: the playground compares the two. */
  baseOpenaiId?: string | null;
};

/** Every model a workspace can call: base (own + built-in) and fine-tuned, with whether a deployment runs it. */
export async function listWorkspaceModels(workspaceId: string): Promise<TGatewayModel[]> {
  const db = getPrisma();
  const [bases, fts, deps] = await Promise.all([
    db.baseModel.findMany({
      where: { OR: [{ workspaceId }, { workspaceId: null }] },
      orderBy: { createdAt: 'asc' },
      take: 500,
    }),
    db.fineTunedModel.findMany({ where: { workspaceId, deletedAt: null }, orderBy: { createdAt: 'desc' }, take: 500 }),
    db.deployment.findMany({
      where: { workspaceId, status: 'running' },
      select: { baseModelId: true, fineTunedModelId: true },
    }),
  ]);
  const deployedFt = new Set(deps.map((d) => d.fineTunedModelId).filter(Boolean));
  const deployedBase = new Set(deps.filter((d) => !d.fineTunedModelId).map((d) => d.baseModelId));
  const baseName = new Map(bases.map((b) => [b.id, b.name]));
  return [
    ...fts.map((m) => ({
      openaiId: m.name,
      id: m.id,
      name: m.displayName ?? m.name,
      kind: 'fine_tuned' as const,
      deployed: deployedFt.has(m.id),
      createdAt: m.createdAt,
      ownedBy: 'workspace',
      baseOpenaiId: baseName.get(m.baseModelId) ?? null,
    })),
    ...bases.map((b) => ({
      openaiId: b.name,
      id: b.id,
      name: b.displayName ?? b.name,
      kind: 'base' as const,
      deployed: deployedBase.has(b.id),
      createdAt: b.createdAt,
      ownedBy: b.workspaceId ? 'workspace' : 'crucible',
    })),
  ];
}
