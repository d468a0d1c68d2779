/**
 * @crucible/db — the only package that imports Prisma. Everything else imports the client, the generated types
 * (models, enums, the Prisma namespace) and the data-access functions from here.
 */
export * from '@prisma/client';
export { recordAudit, type TAuditInput, ZAuditInput } from './audit';
export { createPrisma, disconnectAll, getPrisma, type TDb } from './client';
export { refreshDeploymentStatus, replicasPerWorker, resetReplicas, type TDeploymentState } from './deployments';
export { DEFAULT_DATABASE_URL, readDbEnv, type TDbEnv, ZDbEnv } from './env';
export { DbError, isDatabaseUnavailable, isUniqueViolation, type TDbErrorCode } from './errors';
export { type TTrainingMetricInput, upsertTrainingMetric } from './fine-tuning';
export {
  completeRequestLog,
  deploymentMetrics,
  deploymentStats,
  openRequestLog,
  type TAcceptedRequest,
  type TDeploymentStats,
  type TInferenceRecord,
  type TMetricBucket,
} from './inference';
export {
  DEFAULT_LOG_RETENTION_DAYS,
  deleteExpiredRequestContent,
  storeRequestContent,
  type TLoggedMessage,
  type TRequestContentInput,
} from './request-logs';
export { appendUsage, type TAppendUsageResult, type TUsageRecordInput, ZUsageRecordInput } from './usage';
export {
  getMembership,
  getWorkspaceById,
  getWorkspaceBySlug,
  listMemberships,
  parseRoles,
  type TMembership,
  type TMembershipWithWorkspace,
  type TWorkspaceRole,
  WORKSPACE_ROLES,
} from './workspaces';
