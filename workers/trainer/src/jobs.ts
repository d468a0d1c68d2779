import { defineJob, trainingRunJob } from '@crucible/jobs';

/** The job types this worker runs: the shared declarations plus their lazily loaded handlers. */
export const trainerJobs = [defineJob({ ...trainingRunJob, handler: () => import('./handlers/training-run.handler') })];
