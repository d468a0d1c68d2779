import { FINE_TUNING_METHODS, ZHyperparameters } from '@crucible/jobs/fine-tuning';
import { z } from 'zod';

/**
 * What creating (or estimating) a fine-tuning job takes: the input of `planJob` / `createJob`, the body of the
 * console's `POST .../fine-tuning/jobs` and `.../estimate`, and what `crucible jobs create` builds from its flags.
 * Browser-safe (zod and @crucible/jobs/fine-tuning only): the console's form checks the same schema.
 */
export const ZFineTuningMethod = z.enum(FINE_TUNING_METHODS);

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
