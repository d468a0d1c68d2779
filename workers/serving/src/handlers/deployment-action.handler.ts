import { getPrisma } from '@crucible/db';
import { JobError, type TDeploymentJobPayload, type TJobContext } from '@crucible/jobs';
import { getServingHost } from '../host';

/**
 * `deployment.action`: start, stop or restart a Deployment row.
 *
 * start/restart: the serving host of this process loads the model (GGUF base + LoRA adapter), pins it so the LRU
 * never evicts it, health-checks it with a one-token generation, and records deploying → running (or failed, with
 * a code and a sentence). stop: status stopped; the worker holding it lets go (here at once, elsewhere within one
 * registry tick, because every worker reconciles its pins with the database).
 */
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
  const host = getServingHost();

  if (payload.action === 'stop' || payload.action === 'restart') {
    await host?.release(row.id);
    if (payload.action === 'stop') {
      await db.deployment.update({
        where: { id: row.id },
        data: { status: 'stopped', stoppedAt: new Date(), endpoint: null, workerId: null },
      });
      ctx.log(`deployment ${row.id} stopped`);
      return { status: 'stopped' };
    }
  }

  if (!host) {
    const message = 'This process hosts no models (a serving worker started without its HTTP host).';
    await db.deployment.update({
      where: { id: row.id },
      data: { status: 'failed', errorCode: 'no_host', errorMessage: message, workerId: null },
    });
    throw new JobError('handler_failed', `no_host: ${message}`);
  }
  try {
    const status = await host.start(row.id);
    ctx.log(`deployment ${row.id} ${status}`);
    return { status };
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'load_failed';
    throw new JobError('handler_failed', `${code}: ${(error as Error).message}`);
  }
}
