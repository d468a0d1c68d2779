/**
 * Fine-tuning inputs shared by the REST routes and the console's forms. Browser-safe: the job schema is the one the
 * platform's job operations take (@crucible/services/job-input: zod and @crucible/jobs/fine-tuning only), and the
 * hyper-parameter schema is the one the worker reads.
 */
export { ZCreateFineTuningJob } from '@crucible/services/job-input';
