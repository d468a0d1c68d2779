import { defineJob, deploymentActionJob } from '@crucible/jobs';

/**
 * The job types this worker runs: the shared declarations plus their lazily loaded handlers. Model exports and the
 * billing accrual ran here before issue 17; they are workers/housekeeping's now.
 */
export const servingJobs = [
  defineJob({ ...deploymentActionJob, handler: () => import('./handlers/deployment-action.handler') }),
];
