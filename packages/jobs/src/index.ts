export { closeRedisConnection, createRedisConnection, getRedisConnection } from './connection';
export { QUEUE_DEFAULTS, QUEUE_NAMES, type TQueueName } from './constants';
export * from './definitions/index';
export { loadJobsEnv, parseSettings, type TJobsEnv, ZJobsEnv } from './env';
export { isJobError, JobError, type TJobErrorCode } from './errors';
export {
  compileJsonSchema,
  renderTemplate,
  scoreNames,
  type TEvaluationCriterion,
  type TEvaluationSettings,
  ZEvaluationCriteria,
  ZEvaluationSettings,
} from './evaluation';
export {
  autoEpochs,
  DEMO_PRESET,
  datasetKindOf,
  defaultHyperparameters,
  epochsFor,
  FINE_TUNING_METHODS,
  isLoraMethod,
  jobChannel,
  jobControlChannel,
  methodOf,
  noHyperparametersGiven,
  resolveHyperparameters,
  STAGE_DATASET_KIND,
  stageKeyProblem,
  stageOf,
  type TDatasetKind,
  type TFineTuningMethod,
  type THyperparameters,
  type TJobChannelMessage,
  type TResolvedHyperparameters,
  ZHyperparameters,
} from './fine-tuning';
export {
  forgetDeadLocalWorkers,
  heartbeatKey,
  heartbeatState,
  isDeadLocalProcess,
  readWorkerHeartbeats,
  type TBeatWithState,
  type TWorkerHeartbeat,
  writeHeartbeat,
  ZWorkerHeartbeat,
} from './heartbeat';
export { prepareJobDataFile } from './job-data';
export { closeQueues, enqueue, formatIssues, getQueue, scheduleRepeatable, type TQueueTarget } from './queue';
export { createWorkerRuntime, type TLogger, type TWorkerRuntime, type TWorkerRuntimeOptions } from './runtime';
export * from './serving';
export { buildTrainConfig, datasetInfo, JOB_FOLDER, type TBuildConfigInput, templateFor } from './train-config';
