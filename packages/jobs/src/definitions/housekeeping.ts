import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

/**
 * The housekeeping queue's own jobs (workers/housekeeping); `model.export` (model-export.ts) runs there too.
 * Issue 17: billing accrual used to be a queue built ad hoc inside the serving worker, and dataset imports ran in
 * the console process with their progress in a process-global map.
 */

/**
 * `billing.accrue`: charge started deployment hours and today's storage, check every budget and e-mail new alerts.
 * Repeatable (scheduleRepeatable with BILLING_ACCRUE_SCHEDULER_ID): every housekeeping worker upserts the same
 * schedule, so N workers keep one. No payload: each run charges up to its own clock, idempotently.
 */
export const ZBillingAccruePayload = z.strictObject({});
export type TBillingAccruePayload = z.infer<typeof ZBillingAccruePayload>;

export const billingAccrueJob = defineJob({
  id: 'billing.accrue',
  version: 1,
  queue: QUEUE_NAMES.housekeeping,
  schema: ZBillingAccruePayload,
});

/** One scheduler id for every housekeeping worker: upserting it N times keeps one schedule, not N. */
export const BILLING_ACCRUE_SCHEDULER_ID = 'billing-accrue';

/**
 * `dataset.import`: validate an uploaded file into a new dataset version. Only the id: the DatasetImport row holds
 * the upload, the options (placeholders, dataset_info.json), the progress, the cancel flag and the outcome.
 */
export const ZDatasetImportJobPayload = z.strictObject({
  importId: z.string().min(1, 'importId is required').max(80),
});
export type TDatasetImportJobPayload = z.infer<typeof ZDatasetImportJobPayload>;

export const datasetImportJob = defineJob({
  id: 'dataset.import',
  version: 1,
  queue: QUEUE_NAMES.housekeeping,
  schema: ZDatasetImportJobPayload,
});

/**
 * `request-logs.expire`: deletes the kept chat requests (request logs, issue 16) whose retention has run out.
 * Repeatable like `billing.accrue`: one shared schedule (REQUEST_LOGS_EXPIRE_SCHEDULER_ID), no payload.
 */
export const ZRequestLogsExpirePayload = z.strictObject({});
export type TRequestLogsExpirePayload = z.infer<typeof ZRequestLogsExpirePayload>;

export const requestLogsExpireJob = defineJob({
  id: 'request-logs.expire',
  version: 1,
  queue: QUEUE_NAMES.housekeeping,
  schema: ZRequestLogsExpirePayload,
});

export const REQUEST_LOGS_EXPIRE_SCHEDULER_ID = 'request-logs-expire';

/**
 * `model-uploads.expire`: cancels archive uploads ("Add base model" → upload) left unfinished for longer than
 * MODEL_UPLOAD_EXPIRE_DAYS, so storage drops their parts. Repeatable, one shared schedule, no payload.
 */
export const ZModelUploadsExpirePayload = z.strictObject({});
export type TModelUploadsExpirePayload = z.infer<typeof ZModelUploadsExpirePayload>;

export const modelUploadsExpireJob = defineJob({
  id: 'model-uploads.expire',
  version: 1,
  queue: QUEUE_NAMES.housekeeping,
  schema: ZModelUploadsExpirePayload,
});

export const MODEL_UPLOADS_EXPIRE_SCHEDULER_ID = 'model-uploads-expire';
