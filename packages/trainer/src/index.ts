/**
 * @crucible/trainer: the TypeScript training core. The trainer worker and the CLI use these entry points; the parts
 * (model, data, io, export) are importable on their own as `@crucible/trainer/<folder>/index`.
 */

export { type ChatSession, type ChatSettings, openChat } from './cli/chat';
export { runTrainerCli } from './cli/index';
export { loadChatConfig, loadTrainConfig, parseTrainConfig, type TChatConfig, type TTrainConfig } from './config';
export { type Example, getTemplate, loadDatasets, splitValidation, type TChatMessage, type Template } from './data';
export { mergeAdapter, readPeftAdapter, writeGgufLora, writeGgufModel, writePeftAdapter } from './export';
export { type GenerateOptions, generate, generateTokens } from './generate';
export { initModel, loadTokenizer, loadWeights, type Tokenizer, TrainerError, writeSafetensors } from './io';
export { type Batch, createModel, type Model, type ModelConfig, type Param, parseModelConfig } from './model';
export { checkpointDir, configHash, resolveResume } from './train/checkpoint';
export { TrainError, type TTrainErrorCode } from './train/errors';
export type { TrainerLogRecord } from './train/logging';
export {
  evaluate,
  type LoopOptions,
  type LoopResult,
  type TrainArgs,
  type TrainableModel,
  type TrainEvent,
  trainLoop,
} from './train/loop';
export { ADAMW_DEFAULTS, type AdamWConfig, createAdamW, decaysByName, type Optimizer } from './train/optimizer';
export { type RunOptions, type RunResult, runTraining, trainArgsFromConfig } from './train/run';
export { lrAt, lrFactor, type ScheduleOptions, type TScheduleType, warmupStepsFor } from './train/schedule';
