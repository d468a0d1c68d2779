import { FINE_TUNING_METHODS, ZHyperparameters } from '@crucible/jobs/fine-tuning';
import { z } from 'zod';

/**
 * Fine-tuning inputs shared by the REST routes and the console's forms. Browser-safe: the hyper-parameter schema
 * comes from @crucible/jobs/fine-tuning, which imports nothing but zod (the worker reads the same contract).
 */
const ZFineTuningMethod = z.enum(FINE_TUNING_METHODS);

export const ZCreateFineTuningJob = z.strictObject({
  baseModelId: z.string().min(1, 'Choose a base model.'),
  trainingVersionId: z.string().min(1, 'Choose a published training dataset version.'),
  validationVersionId: z.string().min(1).optional(),
  valSplit: z.number().min(0).max(0.5).optional(),
  method: ZFineTuningMethod.default('sft_lora'),
  suffix: z
    .string()
    .regex(/^[a-zA-Z0-9-_]{1,40}$/, 'The suffix is 1-40 letters, digits, "-" or "_".')
    .optional(),
  hyperparameters: ZHyperparameters.omit({ valSplit: true }).default({}),
});
export type TCreateFineTuningJob = z.infer<typeof ZCreateFineTuningJob>;
