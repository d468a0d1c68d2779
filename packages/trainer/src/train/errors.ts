// Errors of the training run itself (output folder, checkpoints, data it cannot train on): a stable code for programs
// (the trainer worker maps them to job failures) and a sentence a user can act on.
export type TTrainErrorCode =
  | 'OUTPUT_DIR_EXISTS'
  | 'CHECKPOINT_NOT_FOUND'
  | 'CHECKPOINT_CONFIG_MISMATCH'
  | 'CHECKPOINT_CORRUPT'
  | 'TRAIN_SET_EMPTY';

export class TrainError extends Error {
  readonly code: TTrainErrorCode;
  constructor(code: TTrainErrorCode, message: string) {
    super(message);
    this.name = 'TrainError';
    this.code = code;
  }
}
