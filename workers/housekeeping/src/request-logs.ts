import {
  REQUEST_LOGS_EXPIRE_SCHEDULER_ID,
  requestLogsExpireJob,
  scheduleRepeatable,
  type TQueueTarget,
} from '@crucible/jobs';

/**
 * Registers the shared repeatable `request-logs.expire` job on the housekeeping queue (first run at once, then every
 * `everyMs`), as billing.accrue is: every housekeeping worker calls it at boot, the one scheduler id keeps one schedule.
 */
export async function scheduleRequestLogExpiry(everyMs: number, target: TQueueTarget = {}): Promise<void> {
  await scheduleRepeatable(
    requestLogsExpireJob,
    {},
    { schedulerId: REQUEST_LOGS_EXPIRE_SCHEDULER_ID, everyMs },
    { ...target, job: { priority: 1 } },
  );
}
