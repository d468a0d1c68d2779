import { getPrisma, type TDb } from './client';

/**
 * Dedicated deployments and their replicas (issue 6). The replica rows are the truth of where a deployment runs;
 * the deployment's own status is derived from them here, in one statement, so workers updating replicas at the same
 * time cannot leave it behind:
 * - running   once at least one replica is ready, and while it is only unhealthy (failing health checks, which the
 *             console routes around); fewer ready than asked is "degraded", shown as n/N ready;
 * - failed    when every replica failed (its error is the first failed replica's);
 * - deploying otherwise.
 * A stopped deployment is never touched.
 */

export type TDeploymentState = { status: string; ready: number; total: number } | null;

export async function refreshDeploymentStatus(deploymentId: string, db: TDb = getPrisma()): Promise<TDeploymentState> {
  const rows = await db.$queryRaw<{ status: string; ready: bigint; total: bigint }[]>`
    WITH r AS (
      SELECT count(*) FILTER (WHERE status = 'ready') AS ready,
             count(*) FILTER (WHERE status = 'unhealthy') AS unhealthy,
             count(*) FILTER (WHERE status = 'failed') AS failed,
             count(*) AS total,
             (array_agg("workerId" ORDER BY "index") FILTER (WHERE status = 'ready'))[1] AS worker,
             (array_agg(endpoint ORDER BY "index") FILTER (WHERE status = 'ready'))[1] AS endpoint,
             (array_agg("errorCode" ORDER BY "index") FILTER (WHERE status = 'failed'))[1] AS code,
             (array_agg("errorMessage" ORDER BY "index") FILTER (WHERE status = 'failed'))[1] AS message
        FROM deployment_replica WHERE "deploymentId" = ${deploymentId}
    )
    UPDATE deployment d SET
      status = (CASE WHEN r.ready > 0 OR r.unhealthy > 0 THEN 'running'
                     WHEN r.total > 0 AND r.failed = r.total THEN 'failed'
                     ELSE 'deploying' END)::"DeploymentStatus",
      "startedAt" = CASE WHEN r.ready > 0 THEN COALESCE(d."startedAt", now()) ELSE d."startedAt" END,
      "workerId" = r.worker,
      endpoint = r.endpoint,
      "errorCode" = CASE WHEN r.failed > 0 THEN r.code ELSE NULL END,
      "errorMessage" = CASE WHEN r.failed > 0 THEN r.message ELSE NULL END,
      "updatedAt" = now()
    FROM r
    WHERE d.id = ${deploymentId} AND d.status IN ('deploying', 'running')
    RETURNING d.status::text AS status, r.ready, r.total`;
  const row = rows[0];
  return row ? { status: row.status, ready: Number(row.ready), total: Number(row.total) } : null;
}

/**
 * Makes a deployment's replica rows exactly indexes 0..count-1, every one unplaced and pending (a start or restart):
 * workers holding the old ones let go of them on their next reconcile.
 */
export async function resetReplicas(deploymentId: string, count: number, db = getPrisma()) {
  await db.$transaction(async (tx) => {
    await tx.deploymentReplica.deleteMany({ where: { deploymentId, index: { gte: count } } });
    for (let index = 0; index < count; index++) {
      const fresh = {
        workerId: null,
        status: 'pending' as const,
        endpoint: null,
        startedAt: null,
        lastHealthAt: null,
        healthFailures: 0,
        errorCode: null,
        errorMessage: null,
      };
      await tx.deploymentReplica.upsert({
        where: { deploymentId_index: { deploymentId, index } },
        create: { deploymentId, index, ...fresh },
        update: fresh,
      });
    }
  });
}

/** Replicas placed on each worker, over deployments that should run (to place new ones where there is room). */
export async function replicasPerWorker(db: TDb = getPrisma()): Promise<Map<string, number>> {
  const rows = await db.deploymentReplica.groupBy({
    by: ['workerId'],
    where: { workerId: { not: null }, deployment: { status: { in: ['deploying', 'running'] } } },
    _count: { _all: true },
  });
  return new Map(rows.map((r) => [r.workerId as string, r._count._all]));
}
