import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

/**
 * Only the id: the ModelExport row says what to build (merged safetensors or a GGUF, of which model, which dtype).
 * It runs on the deployments queue because the serving worker is where models are converted already (base GGUFs for
 * llama.cpp), and its concurrency is not held for hours by a training run as the trainer worker's is.
 */
export const ZModelExportJobPayload = z.strictObject({
  exportId: z.string().min(1, 'exportId is required').max(64),
});
export type TModelExportJobPayload = z.infer<typeof ZModelExportJobPayload>;

export const modelExportJob = defineJob({
  id: 'model.export',
  version: 1,
  queue: QUEUE_NAMES.deployments,
  schema: ZModelExportJobPayload,
});
