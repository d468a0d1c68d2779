import { ZAddLogsToDataset, ZDeploymentLogging, ZRateLog } from '../../schemas';
import type { TRouteDef } from '../route-table';
import {
  addRequestLogsToDataset,
  deleteRequestLog,
  getRequestLog,
  listRequestLogs,
  rateRequestLog,
  updateDeploymentLogging,
} from './request-logs';

const WS = '/api/workspaces/[slug]';
const L = `${WS}/request-logs`;

/** Request logs and feedback into data (issue 16), spliced into ROUTES (route-table.ts). */
export const REQUEST_LOG_ROUTES: TRouteDef[] = [
  {
    method: 'GET',
    path: L,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listRequestLogs,
    summary:
      'Kept chat requests, newest first (?q, model, deploymentId, source, rating, finishReason, from, to, minLatencyMs, maxLatencyMs, offset, limit)',
  },
  {
    method: 'GET',
    path: `${L}/[logId]`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getRequestLog,
    summary: 'One kept request: its messages, answer, metadata, tokens, latency',
  },
  {
    method: 'DELETE',
    path: `${L}/[logId]`,
    scope: 'workspace',
    minRole: 'developer',
    handler: deleteRequestLog,
    summary: "Delete a kept request's messages and answer",
  },
  {
    method: 'PUT',
    path: `${L}/[logId]/rating`,
    scope: 'workspace',
    minRole: 'developer',
    handler: rateRequestLog,
    body: { rating: 'up' },
    requestSchema: ZRateLog,
    summary: 'Thumbs up/down on a kept request (or a playground turn, with its messages and answer)',
  },
  {
    method: 'POST',
    path: `${L}/add-to-dataset`,
    scope: 'workspace',
    minRole: 'developer',
    handler: addRequestLogsToDataset,
    body: { logIds: ['none'], datasetName: 'from-logs' },
    requestSchema: ZAddLogsToDataset,
    summary: 'Append kept chats (answers edited) to a new draft version of a ChatML dataset, existing or new',
  },
  {
    method: 'PATCH',
    path: `${WS}/deployments/[deploymentId]`,
    scope: 'workspace',
    minRole: 'developer',
    handler: updateDeploymentLogging,
    body: { logRequests: true, logRetentionDays: 7 },
    requestSchema: ZDeploymentLogging,
    summary: "Set a deployment's request logs: keep its chats (logRequests) for logRetentionDays days",
  },
];
