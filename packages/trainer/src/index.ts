/**
 * @crucible/trainer: the TypeScript training core. The trainer worker and the CLI use these entry points; the parts
 * (model, data, io, export) are importable on their own as `@crucible/trainer/<folder>/index`.
 */
export { runTraining, trainArgsFromConfig, type RunOptions, type RunResult } from './train/run';
export {
  trainLoop, evaluate, type TrainArgs, type TrainEvent, type LoopOptions, type LoopResult, type TrainableModel,
} from './train/loop';
export { lrAt, lrFactor, warmupStepsFor, type ScheduleOptions, type TScheduleType } from './train/schedule';
export { createAdamW, decaysByName, ADAMW_DEFAULTS, type Optimizer, type AdamWConfig } from './train/optimizer';
export { configHash, resolveResume, checkpointDir } from './train/checkpoint';
export { TrainError, type TTrainErrorCode } from './train/errors';
export type { TrainerLogRecord } from './train/logging';
export { runTrainerCli } from './cli/index';
export { openChat, type ChatSettings, type ChatSession } from './cli/chat';
export { loadTrainConfig, parseTrainConfig, loadChatConfig, type TTrainConfig, type TChatConfig } from './config';
export { createModel, parseModelConfig, type Model, type ModelConfig, type Batch, type Param } from './model';
export { loadWeights, loadTokenizer, writeSafetensors, initModel, TrainerError, type Tokenizer } from './io';
export { loadDatasets, getTemplate, type Template, type TChatMessage, type Example } from './data';
export { writePeftAdapter, readPeftAdapter, writeGgufLora, writeGgufModel } from './export';
export { generate, generateTokens, type GenerateOptions } from './generate';
