import { MODEL_UPLOADS_EXPIRE_SCHEDULER_ID, modelUploadsExpireJob, type TQueueTarget } from '@crucible/jobs';
import { scheduleChore } from './chores';

/** Registers the shared repeatable `model-uploads.expire` job (see scheduleChore). */
export const scheduleModelUploadExpiry = (everyMs: number, target: TQueueTarget = {}) =>
  scheduleChore(modelUploadsExpireJob, MODEL_UPLOADS_EXPIRE_SCHEDULER_ID, everyMs, target);
