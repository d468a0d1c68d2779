import { getPrisma } from '@crucible/db';
import { JobError, type TDeploymentJobPayload, type TJobContext } from '@crucible/jobs';

/**
 * `deployment.action`: start, stop or restart a Deployment row.
 *
 * What it does today: `stop` is real (nothing is hosted yet, so stopping means recording it: status stopped,
 * stoppedAt, endpoint and worker cleared). `start` and `restart` load the row, claim it for this worker, and then
 * FAIL with the typed code `not_supported_yet`, because hosting a model (GGUF base + LoRA through node-llama-cpp
 * behind /v1/chat/completions) is a later issue. The row ends `failed` with that code and a sentence.
 */

export const NOT_SUPPORTED_MESSAGE =
  'Serving models is not supported yet in this version of Crucible; the deployment was received and recorded, but nothing was started.';

export default async function runDeploymentAction(payload: TDeploymentJobPayload, ctx: TJobContext) {
  const db = getPrisma();
  const row = await db.deployment.findUnique({
    where: { id: payload.deploymentId },
    select: { id: true, status: true },
  });
  if (!row)
    throw new JobError(
      'not_found',
      `Deployment ${payload.deploymentId} does not exist (deleted before a worker took it).`,
    );

  if (payload.action === 'stop') {
    await db.deployment.update({
      where: { id: row.id },
      data: { status: 'stopped', stoppedAt: new Date(), endpoint: null, workerId: null },
    });
    ctx.log(`deployment ${row.id} stopped`);
    return { status: 'stopped' };
  }

  await db.deployment.update({
    where: { id: row.id },
    data: { status: 'deploying', workerId: ctx.workerId, errorCode: null, errorMessage: null, stoppedAt: null },
  });
  await db.deployment.update({
    where: { id: row.id },
    data: { status: 'failed', errorCode: 'not_supported_yet', errorMessage: NOT_SUPPORTED_MESSAGE, workerId: null },
  });
  throw new JobError('not_supported_yet', NOT_SUPPORTED_MESSAGE);
}
