import type { TRouteDef } from '../route-table';
import {
  createDeployment,
  deleteDeployment,
  getDeployment,
  getDeploymentMetrics,
  listChatModels,
  listDeployments,
  restartDeployment,
  stopDeployment,
  ZCreateDeployment,
} from './deployments';

const WS = '/api/workspaces/[slug]';
const D = `${WS}/deployments/[deploymentId]`;

/** Deployments and the playground's model list, spliced into ROUTES (route-table.ts). */
export const DEPLOYMENT_ROUTES: TRouteDef[] = [
  {
    method: 'GET',
    path: `${WS}/deployments`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listDeployments,
    summary: 'Deployments with request/token/latency stats',
  },
  {
    method: 'POST',
    path: `${WS}/deployments`,
    scope: 'workspace',
    minRole: 'developer',
    handler: createDeployment,
    body: { name: 'dep', modelId: 'none', modelKind: 'base' },
    summary: 'Deploy a base or fine-tuned model (starts deploying)',
    requestSchema: ZCreateDeployment,
  },
  { method: 'GET', path: D, scope: 'workspace', minRole: 'viewer', handler: getDeployment, summary: 'One deployment' },
  {
    method: 'DELETE',
    path: D,
    scope: 'workspace',
    minRole: 'developer',
    handler: deleteDeployment,
    summary: 'Delete a stopped deployment',
  },
  {
    method: 'POST',
    path: `${D}/stop`,
    scope: 'workspace',
    minRole: 'developer',
    handler: stopDeployment,
    summary: 'Stop a deployment',
  },
  {
    method: 'POST',
    path: `${D}/restart`,
    scope: 'workspace',
    minRole: 'developer',
    handler: restartDeployment,
    summary: 'Restart a deployment',
  },
  {
    method: 'GET',
    path: `${D}/metrics`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getDeploymentMetrics,
    summary: 'Requests, tokens, p50/p95 latency per minute or hour (?from&to)',
  },
  {
    method: 'GET',
    path: `${WS}/chat-models`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listChatModels,
    summary: 'Models the playground can chat with',
  },
];
