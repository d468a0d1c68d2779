import {
  billingAccrueJob,
  datasetImportJob,
  defineJob,
  modelDownloadJob,
  modelExportJob,
  modelUploadsExpireJob,
  requestLogsExpireJob,
} from '@crucible/jobs';

/** The job types this worker runs: the shared declarations plus their lazily loaded handlers. */
export const housekeepingJobs = [
  defineJob({ ...billingAccrueJob, handler: () => import('./handlers/billing-accrue.handler') }),
  defineJob({ ...datasetImportJob, handler: () => import('./handlers/dataset-import.handler') }),
  defineJob({ ...modelExportJob, handler: () => import('./handlers/model-export.handler') }),
  defineJob({ ...requestLogsExpireJob, handler: () => import('./handlers/request-logs-expire.handler') }),
  defineJob({ ...modelDownloadJob, handler: () => import('./handlers/model-download.handler') }),
  defineJob({ ...modelUploadsExpireJob, handler: () => import('./handlers/model-uploads-expire.handler') }),
];
