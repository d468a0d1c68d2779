import { settleDeploymentRun } from '@crucible/billing';
import { getPrisma } from '@crucible/db';
import { JobError, type TDeploymentJobPayload, type TJobContext } from '@crucible/jobs';
import { getServingHost } from '../host';

/**
 * `deployment.action`: start, stop or restart a Deployment row.
 *
 * start/restart: the serving host of this process places the deployment's replicas on the live serving workers
 * (this one included), loads its own share (GGUF base + LoRA adapter, pinned so the LRU never evicts it, ready after
 * a one-token health check), and waits for the others; the deployment is deploying → running (or failed, with a code
 * and a sentence). stop: status stopped and the replica rows removed; every worker lets go of its share (this one at
 * once, the others on their next reconcile or when nudged).
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

  if (payload.action === 'stop') {
    await db.deployment.update({
      where: { id: row.id },
      data: { status: 'stopped', stoppedAt: new Date(), endpoint: null, workerId: null },
    });
    // Billed by the minute: the run's last, partial hour is charged now, before a restart can reset its start.
    await settleDeploymentRun(row.id);
    await host?.stop(row.id);
    if (!host) await db.deploymentReplica.deleteMany({ where: { deploymentId: row.id } });
    ctx.log(`deployment ${row.id} stopped`);
    return { status: 'stopped' };
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
