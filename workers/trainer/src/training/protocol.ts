import { JOB_FOLDER } from '@crucible/jobs';
import type { TrainEvent } from '@crucible/trainer';

/**
 * The IPC protocol between the trainer worker (parent) and the child process that runs the training core.
 * The child runs in its job folder (cwd) so every path in the config is relative: the config hash that guards
 * checkpoint resume is then the same on any worker, whatever its scratch folder.
 */
export type TParentMessage =
  /** cancel: stop at the next optimizer step, no checkpoint. handback: checkpoint, then stop (SIGTERM). */
  { type: 'stop'; reason: 'cancel' | 'handback' };

export type TChildResult = {
  status: 'completed' | 'cancelled';
  globalStep: number;
  totalSteps: number;
  epoch: number;
  trainLoss: number;
  evalLoss: number | null;
  tokensSeen: number;
  runtimeS: number;
};

export type TChildMessage =
  | { type: 'event'; event: TrainEvent }
  | { type: 'log'; message: string }
  | { type: 'done'; result: TChildResult }
  | { type: 'error'; code: string; message: string };

/** Files the worker writes into the job folder for the child. */
export const CHILD_FILES = {
  config: 'train_config.json',
  /** What the platform asks of the run beyond the LLaMA-Factory config (TChildOptions). */
  options: 'child_options.json',
  ...JOB_FOLDER,
  ggufAdapter: 'adapter.gguf',
} as const;

/** The platform's run options: not LLaMA-Factory keys, so not in the config (nor in its resume hash). */
export type TChildOptions = {
  /** Checkpoint at every epoch end as well as every save_steps (default true). */
  saveAtEpochEnd: boolean;
};
