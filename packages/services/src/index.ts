/**
 * The platform's operations, one function each: the console's REST routes, OpenAI's API and the CLI call these, so
 * a rule (budget, readiness, what may be trained on, what a failed enqueue leaves behind) lives in one place.
 */
export { fromBillingError, requireWithinBudget } from './budget';
export { createDeployment, deploymentAction, type TCreateDeployment, ZCreateDeployment } from './deployments';
export { isServiceError, parseInput, SERVICE_ERROR_CODES, ServiceError, type TServiceErrorCode } from './errors';
export {
  cancelEvaluation,
  createEvaluation,
  criteriaOf,
  EVALUATION_MAX_ROWS,
  findEvaluation,
  OPEN_EVALUATION_STATUSES,
  splitChatRow,
  type TCreateEvaluation,
  type TEvaluationRow,
  type TEvaluationRowInput,
  versionRows,
  ZCreateEvaluation,
} from './evaluations';
export { type TCreateFineTuningJob, ZCreateFineTuningJob, ZFineTuningMethod } from './job-input';
export {
  cancelJob,
  createJob,
  findJob,
  JOB_INCLUDE,
  OPEN_JOB_STATUSES,
  planJob,
  type TCaller,
  type TJobRow,
  timeEstimate,
} from './jobs';
// Base-model import and the demo seed write model files with the training core (native addon): imported from
// '@crucible/services/models' by the CLI and the test setups, never through this index, which the console's
// Next.js bundle reads.
export { trainTokensPerEpoch } from './training-tokens';
