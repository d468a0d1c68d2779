import { defineJob, deploymentActionJob, evaluationRunJob } from '@crucible/jobs';

/**
 * The job types this worker runs: the shared declarations plus their lazily loaded handlers. Model exports and the
 * billing accrual ran here before issue 17; they are workers/housekeeping's now.
 */
export const servingJobs = [
  defineJob({ ...deploymentActionJob, handler: () => import('./handlers/deployment-action.handler') }),
];

/** The `evaluations` queue's jobs (src/evaluations.ts runs them beside the deployments queue). */
export const evaluationJobs = [
  defineJob({ ...evaluationRunJob, handler: () => import('./handlers/evaluation-run.handler') }),
];
