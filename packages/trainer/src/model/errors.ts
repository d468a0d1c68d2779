export type TModelErrorCode =
  | 'CONFIG_INVALID' // config.json lacks a key or has a wrong value
  | 'CONFIG_UNSUPPORTED' // a real feature the core does not implement (sliding window, rope scaling, ...)
  | 'WEIGHT_MISSING'
  | 'WEIGHT_SHAPE'
  | 'LORA_INVALID' // LoRA spec or adapter state does not fit the model
  | 'INPUT_INVALID'; // a batch or id list the model cannot run

/** Errors of the model code: a stable code for programs, a sentence for people. */
export class ModelError extends Error {
  readonly code: TModelErrorCode;
  constructor(code: TModelErrorCode, message: string) {
    super(message);
    this.name = 'ModelError';
    this.code = code;
  }
}
