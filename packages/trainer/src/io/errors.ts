// One error type for the trainer's file-facing code (config, data, model files, export): a stable code that callers
// and tests switch on, and a sentence a user can act on.
export type TTrainerErrorCode =
  | 'CONFIG_READ'
  | 'CONFIG_UNKNOWN_KEY'
  | 'CONFIG_INVALID_VALUE'
  | 'DATASET_NOT_FOUND'
  | 'DATASET_INVALID'
  | 'TEMPLATE_UNKNOWN'
  | 'TOKENIZER_MISSING'
  | 'SAFETENSORS_INVALID'
  | 'MODEL_FILES_MISSING'
  | 'ADAPTER_INVALID'
  | 'EXPORT_UNSUPPORTED'
  | 'PREDICT_CANCELLED'
  | 'CLI_USAGE';

export class TrainerError extends Error {
  readonly code: TTrainerErrorCode;
  constructor(code: TTrainerErrorCode, message: string) {
    super(message);
    this.name = 'TrainerError';
    this.code = code;
  }
}
