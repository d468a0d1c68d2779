import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

/**
 * Only the id: the ModelExport row says what to build (merged safetensors or a GGUF, of which model, which dtype).
 * It runs on the housekeeping queue (workers/housekeeping): an export merges and converts with the training core's
 * writers and never touches llama.cpp, and there it neither holds a serving worker's job slots nor waits behind a
 * training run. (It ran on the deployments queue in the serving worker before issue 17.)
 */
export const ZModelExportJobPayload = z.strictObject({
  exportId: z.string().min(1, 'exportId is required').max(64),
});
export type TModelExportJobPayload = z.infer<typeof ZModelExportJobPayload>;

export const modelExportJob = defineJob({
  id: 'model.export',
  version: 1,
  queue: QUEUE_NAMES.housekeeping,
  schema: ZModelExportJobPayload,
});
