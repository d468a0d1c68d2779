/** A failure a user can act on, as stored on the job row and returned by the APIs ({code, message, param}). */
export type TUserError = { code: string; message: string; param: string | null };

/**
 * Maps the training core's error codes to job errors: what went wrong in the user's terms and which input to fix
 * (param as OpenAI names it: training_file, model, hyperparameters).
 */
export function userErrorFrom(code: string, message: string): TUserError {
  switch (code) {
    case 'DATASET_NOT_FOUND':
    case 'DATASET_INVALID':
    case 'TRAIN_SET_EMPTY':
      return { code: 'invalid_training_file', message, param: 'training_file' };
    case 'TEMPLATE_UNKNOWN':
    case 'TOKENIZER_MISSING':
    case 'SAFETENSORS_INVALID':
    case 'MODEL_FILES_MISSING':
      return { code: 'invalid_model', message, param: 'model' };
    case 'CONFIG_UNKNOWN_KEY':
    case 'CONFIG_INVALID_VALUE':
      return { code: 'invalid_hyperparameters', message, param: 'hyperparameters' };
    case 'CHECKPOINT_CONFIG_MISMATCH':
    case 'CHECKPOINT_CORRUPT':
    case 'CHECKPOINT_NOT_FOUND':
      return { code: 'checkpoint_unusable', message, param: null };
    default:
      if (/out of memory|heap|ENOMEM|allocation failed/i.test(message)) {
        return {
          code: 'out_of_memory',
          message: `The worker ran out of memory while training (${message}). Lower batchSize or cutoffLen, or use LoRA.`,
          param: 'hyperparameters',
        };
      }
      return { code: 'training_failed', message, param: null };
  }
}
