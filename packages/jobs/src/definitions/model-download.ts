import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

/**
 * `model.download` (issue 14): adds a workspace's base model from Hugging Face or ModelScope, from a folder on the
 * workers' shared storage, or from an uploaded .tar/.zip, on the housekeeping queue. Only the id: the
 * BaseModelDownload row says what to fetch and holds the progress and the outcome.
 */
export const ZModelDownloadJobPayload = z.strictObject({
  downloadId: z.string().min(1, 'downloadId is required').max(64),
});
export type TModelDownloadJobPayload = z.infer<typeof ZModelDownloadJobPayload>;

export const modelDownloadJob = defineJob({
  id: 'model.download',
  version: 1,
  queue: QUEUE_NAMES.housekeeping,
  schema: ZModelDownloadJobPayload,
});
