import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

/** The Redis entry carries only the id: the TrainingJob row in Postgres is the source of truth. */
export const ZTrainingJobPayload = z.strictObject({
  jobId: z.string().min(1, 'jobId is required').max(64),
});
export type TTrainingJobPayload = z.infer<typeof ZTrainingJobPayload>;

export const trainingRunJob = defineJob({
  id: 'training.run',
  version: 1,
  queue: QUEUE_NAMES.training,
  schema: ZTrainingJobPayload,
});
