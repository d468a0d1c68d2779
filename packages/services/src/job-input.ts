import { FINE_TUNING_METHODS, ZHyperparameters } from '@crucible/jobs/fine-tuning';
import { z } from 'zod';

/**
 * What creating (or estimating) a fine-tuning job takes: the input of `planJob` / `createJob`, the body of the
 * console's `POST .../fine-tuning/jobs` and `.../estimate`, and what `crucible jobs create` builds from its flags.
 * Browser-safe (zod and @crucible/jobs/fine-tuning only): the console's form checks the same schema.
 */
export const ZFineTuningMethod = z.enum(FINE_TUNING_METHODS);

export const ZCreateFineTuningJob = z.strictObject({
  /** The base model; may be left out when fromModelId names a fine-tuned model (its base is used). */
  baseModelId: z.string().min(1, 'Choose a base model.').optional(),
  /** A fine-tuned model of the workspace to continue (SFT -> DPO): its adapter (LoRA) or weights (full) go on. */
  fromModelId: z.string().min(1).optional(),
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
