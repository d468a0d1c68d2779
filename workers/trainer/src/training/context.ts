import { getPrisma } from '@crucible/db';
import { getRedisConnection, jobChannel, loadJobsEnv, type TJobChannelMessage } from '@crucible/jobs';
import { getStorage, type Storage } from '@crucible/storage';

/** Shared services of one handler run: database, storage, Redis announcements, and job events. */
export function jobServices(workspaceId: string, jobId: string) {
  const db = getPrisma();
  const storage: Storage = getStorage();
  const prefix = loadJobsEnv().REDIS_PREFIX;
  const redis = getRedisConnection();
  const publish = (m: TJobChannelMessage) => redis.publish(jobChannel(prefix, jobId), JSON.stringify(m)).catch(() => 0);
  const event = async (level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>) => {
    const row = await db.jobEvent.create({
      data: { workspaceId, jobId, level, message: message.slice(0, 4000), ...(data ? { data: data as object } : {}) },
    });
    await publish({
      type: 'event',
      data: { id: row.id, level: row.level, message: row.message, createdAt: row.createdAt.toISOString() },
    });
    return row;
  };
  const status = (s: string) => publish({ type: 'status', data: { id: jobId, status: s } });
  return { db, storage, prefix, redis, publish, event, status };
}

export type TJobServices = ReturnType<typeof jobServices>;
