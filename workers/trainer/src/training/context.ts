import { getPrisma } from '@crucible/db';
import { getRedisConnection, jobChannel, loadJobsEnv, type TJobChannelMessage } from '@crucible/jobs';
import type { jobEvent } from '@crucible/jobs/events';
import { getStorage, type Storage } from '@crucible/storage';

/** Shared services of one handler run: database, storage, Redis announcements, and job events. */
export function jobServices(workspaceId: string, jobId: string) {
  const db = getPrisma();
  const storage: Storage = getStorage();
  const prefix = loadJobsEnv().REDIS_PREFIX;
  const redis = getRedisConnection();
  const publish = (m: TJobChannelMessage) => redis.publish(jobChannel(prefix, jobId), JSON.stringify(m)).catch(() => 0);
  /** Writes one job event (built by jobEvent(): English message + code + params) and announces it. */
  const event = async (
    level: 'info' | 'warn' | 'error',
    e: ReturnType<typeof jobEvent>,
    data?: Record<string, unknown>,
  ) => {
    const row = await db.jobEvent.create({
      data: {
        workspaceId,
        jobId,
        level,
        message: e.message.slice(0, 4000),
        code: e.code,
        params: e.params,
        ...(data ? { data: data as object } : {}),
      },
    });
    await publish({
      type: 'event',
      data: {
        id: row.id,
        level: row.level,
        message: row.message,
        code: e.code,
        params: e.params,
        createdAt: row.createdAt.toISOString(),
      },
    });
    return row;
  };
  const status = (s: string) => publish({ type: 'status', data: { id: jobId, status: s } });
  return { db, storage, prefix, redis, publish, event, status };
}

export type TJobServices = ReturnType<typeof jobServices>;
