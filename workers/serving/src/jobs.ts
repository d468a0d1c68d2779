import { defineJob, deploymentActionJob, modelExportJob } from '@crucible/jobs';

/** The job types this worker runs: the shared declarations plus their lazily loaded handlers. */
export const servingJobs = [
  defineJob({ ...deploymentActionJob, handler: () => import('./handlers/deployment-action.handler') }),
  defineJob({ ...modelExportJob, handler: () => import('./handlers/model-export.handler') }),
];
