import { REQUEST_LOGS_EXPIRE_SCHEDULER_ID, requestLogsExpireJob, type TQueueTarget } from '@crucible/jobs';
import { scheduleChore } from './chores';

/** Registers the shared repeatable `request-logs.expire` job (see scheduleChore). */
export const scheduleRequestLogExpiry = (everyMs: number, target: TQueueTarget = {}) =>
  scheduleChore(requestLogsExpireJob, REQUEST_LOGS_EXPIRE_SCHEDULER_ID, everyMs, target);
