/**
 * Fine-tuning inputs shared by the REST routes and the console's forms. Browser-safe: the job schema is the one the
 * platform's job operations take (@crucible/services/job-input: zod and @crucible/jobs/fine-tuning only), and the
 * hyper-parameter schema is the one the worker reads.
 */
export { autoEpochs, defaultHyperparameters, ZHyperparameters } from '@crucible/jobs/fine-tuning';
export {
  type TCreateFineTuningJob,
  ZCreateFineTuningJob,
  ZFineTuningMethod,
} from '@crucible/services/job-input';
