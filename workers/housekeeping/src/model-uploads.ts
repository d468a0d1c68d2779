import {
  MODEL_UPLOADS_EXPIRE_SCHEDULER_ID,
  modelUploadsExpireJob,
  scheduleRepeatable,
  type TQueueTarget,
} from '@crucible/jobs';

/**
 * Registers the shared repeatable `model-uploads.expire` job on the housekeeping queue (first run at once, then every
 * `everyMs`), as request-logs.expire is: every housekeeping worker calls it at boot, the one scheduler id keeps one
 * schedule.
 */
export async function scheduleModelUploadExpiry(everyMs: number, target: TQueueTarget = {}): Promise<void> {
  await scheduleRepeatable(
    modelUploadsExpireJob,
    {},
    { schedulerId: MODEL_UPLOADS_EXPIRE_SCHEDULER_ID, everyMs },
    { ...target, job: { priority: 1 } },
  );
}
