import { getPrisma, isUniqueViolation } from '@crucible/db';
import { deploymentActionJob, enqueue } from '@crucible/jobs';
import { z } from 'zod';
import { requireWithinBudget } from './budget';
import { parseInput, ServiceError } from './errors';
import type { TCaller } from './jobs';

/**
 * Dedicated deployments: create (a row + `deployment.action` start on the `deployments` queue; a serving worker
 * places the replicas, loads and health-checks them and marks it running), stop and restart. A deployment is billed
 * by the minute while it runs, so create and restart are refused over a hard budget limit; stop always works (it
 * ends the charges). When Redis does not take a start, the row is marked failed (`queue_unavailable`) rather than
 * left `deploying` with nothing to deploy it.
 */

export const ZCreateDeployment = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, dots, dashes and underscores'),
  modelId: z.string().min(1),
  modelKind: z.enum(['base', 'fine_tuned']),
  replicas: z.number().int().min(1).max(16).optional(),
  contextSize: z.number().int().min(128).max(131_072).optional(),
});
export type TCreateDeployment = z.infer<typeof ZCreateDeployment>;

const QUEUE_FAILED = {
  status: 'failed',
  errorCode: 'queue_unavailable',
  errorMessage: 'The deployment queue (Redis) did not take the start; restart the deployment in a minute.',
} as const;

async function enqueueAction(deploymentId: string, action: 'start' | 'stop' | 'restart') {
  try {
    await enqueue(deploymentActionJob, { deploymentId, action });
  } catch (error) {
    if (action !== 'stop') await getPrisma().deployment.update({ where: { id: deploymentId }, data: QUEUE_FAILED });
    throw new ServiceError(
      'unavailable',
      `The deployment queue did not take the ${action}: ${(error as Error).message}`,
    );
  }
}

/**
 * Creates a deployment of a fine-tuned model (not deleted, with an adapter or weights stored) or a base model of the
 * workspace or the instance. `input` is checked here (ZCreateDeployment), after the budget: an exceeded hard limit
 * is the answer whatever the request says.
 */
export async function createDeployment(
  workspaceId: string,
  input: unknown,
  by: TCaller = {},
): Promise<{ id: string; name: string }> {
  await requireWithinBudget(workspaceId);
  const body = parseInput(ZCreateDeployment, input);
  const db = getPrisma();
  if (body.modelKind === 'fine_tuned') {
    const m = await db.fineTunedModel.findFirst({ where: { id: body.modelId, workspaceId, deletedAt: null } });
    if (!m) throw new ServiceError('not_found', 'No such fine-tuned model.', 'modelId');
    // A LoRA fine-tune is served as its adapter on its base; a full fine-tune as its own weights.
    if (!m.ggufAdapterObjectKey && !m.adapterObjectKey && !m.mergedObjectKey) {
      throw new ServiceError('invalid_request', 'This model has neither an adapter nor weights stored.', 'modelId');
    }
  } else {
    const b = await db.baseModel.findFirst({
      where: { id: body.modelId, OR: [{ workspaceId }, { workspaceId: null }] },
    });
    if (!b) throw new ServiceError('not_found', 'No such base model.', 'modelId');
  }
  let row: { id: string };
  try {
    row = await db.deployment.create({
      data: {
        workspaceId,
        name: body.name,
        fineTunedModelId: body.modelKind === 'fine_tuned' ? body.modelId : null,
        baseModelId: body.modelKind === 'base' ? body.modelId : null,
        replicas: body.replicas ?? 1,
        contextSize: body.contextSize ?? 4096,
        workerClass: 'cpu',
        status: 'deploying',
        createdById: by.userId ?? null,
      },
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ServiceError('conflict', `A deployment named "${body.name}" already exists.`, 'name');
    throw error;
  }
  await enqueueAction(row.id, 'start');
  return { id: row.id, name: body.name };
}

/**
 * Stop (always allowed; stopping a stopped deployment does nothing) or restart (refused over a hard budget limit, as
 * it starts billing again). Returns the deployment's id; `not_found` outside the workspace.
 */
export async function deploymentAction(
  workspaceId: string,
  deploymentId: string,
  action: 'stop' | 'restart',
): Promise<{ id: string; enqueued: boolean }> {
  if (action === 'restart') await requireWithinBudget(workspaceId);
  const db = getPrisma();
  const row = await db.deployment.findFirst({ where: { id: deploymentId, workspaceId } });
  if (!row) throw new ServiceError('not_found', 'No such deployment.');
  if (action === 'stop' && row.status === 'stopped') return { id: row.id, enqueued: false };
  if (action === 'restart') {
    await db.deployment.update({
      where: { id: row.id },
      data: { status: 'deploying', errorCode: null, errorMessage: null, stoppedAt: null },
    });
  }
  await enqueueAction(row.id, action);
  return { id: row.id, enqueued: true };
}
