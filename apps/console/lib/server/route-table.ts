import type { TRole } from '@crucible/auth';
import type { z } from 'zod';
import type { THandler } from './http';
import { createApiKeyRoute, listApiKeys, revokeApiKey } from './routes/api-keys';
import { BILLING_ROUTES } from './routes/billing-table';
import { DATASET_ROUTES } from './routes/datasets-table';
import { DEPLOYMENT_ROUTES } from './routes/deployments-table';
import { EVALUATION_ROUTES } from './routes/evaluations-table';
import { FINE_TUNING_ROUTES } from './routes/fine-tuning-table';
import { getGettingStarted, importSample } from './routes/getting-started';
import { getHealth } from './routes/health';
import {
  acceptInvitation,
  createInvitation,
  getInvitation,
  listInvitations,
  revokeInvitation,
} from './routes/invitations';
import { getMe, patchMe } from './routes/me';
import { deleteMember, listMembers, patchMember } from './routes/members';
import { MODEL_ROUTES } from './routes/models-table';
import { getOpenApi } from './routes/openapi';
import { REQUEST_LOG_ROUTES } from './routes/request-logs-table';
import { getModel, listModels, listUsage } from './routes/resources';
import {
  createWorkspaceRoute,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  patchWorkspace,
} from './routes/workspaces';

/**
 * Every REST route, in one table. The app/api/** route files mount these
 * handlers (test/api/routes.test.ts checks each file mounts exactly the
 * handler listed here), and the tests walk this table: the tenant-isolation suite calls
 * every `workspace`-scoped route of workspace B as a member of A, so a route
 * added here is covered the day it is added (and a test fails if an
 * app/api route file and this table disagree).
 *
 * `minRole` documents the least role that gets a 2xx; the handler enforces it.
 * `body` is a valid request body, used by tests to show that an outsider is
 * refused even when the request itself is well-formed.
 */
export type TMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type TScope = 'public' | 'user' | 'workspace';

export type TRouteDef = {
  method: TMethod;
  /** Next.js path under apps/console/app, with [param] segments. */
  path: string;
  scope: TScope;
  minRole?: TRole;
  handler: THandler;
  body?: unknown;
  /** For the OpenAPI document (GET /api/openapi.json): one line on what the route does. */
  summary?: string;
  /** For the OpenAPI document: the zod schema of the JSON request body. */
  requestSchema?: z.ZodType;
};

const WS = '/api/workspaces/[slug]';

export const ROUTES: readonly TRouteDef[] = [
  { method: 'GET', path: '/api/health', scope: 'public', handler: getHealth },
  { method: 'GET', path: '/api/openapi.json', scope: 'public', handler: getOpenApi },
  { method: 'GET', path: '/api/me', scope: 'user', handler: getMe },
  { method: 'PATCH', path: '/api/me', scope: 'user', handler: patchMe, body: { locale: 'zh-CN' } },
  { method: 'GET', path: '/api/workspaces', scope: 'user', handler: listWorkspaces },
  {
    method: 'POST',
    path: '/api/workspaces',
    scope: 'user',
    handler: createWorkspaceRoute,
    body: { name: 'New', slug: 'new-ws' },
  },
  { method: 'GET', path: '/api/invitations/[invitationId]', scope: 'user', handler: getInvitation },
  { method: 'POST', path: '/api/invitations/[invitationId]/accept', scope: 'user', handler: acceptInvitation },

  { method: 'GET', path: WS, scope: 'workspace', minRole: 'viewer', handler: getWorkspace },
  {
    method: 'GET',
    path: `${WS}/getting-started`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getGettingStarted,
    summary: "The first-run path: the instance's demo model and this workspace's progress along it.",
  },
  {
    method: 'POST',
    path: `${WS}/datasets/samples`,
    scope: 'workspace',
    minRole: 'developer',
    handler: importSample,
    body: { sample: 'identity' },
    summary: 'Import a sample dataset (LLaMA-Factory identity.json) as a new dataset.',
  },
  {
    method: 'PATCH',
    path: WS,
    scope: 'workspace',
    minRole: 'admin',
    handler: patchWorkspace,
    body: { name: 'Renamed' },
  },
  { method: 'DELETE', path: WS, scope: 'workspace', minRole: 'owner', handler: deleteWorkspace },

  { method: 'GET', path: `${WS}/members`, scope: 'workspace', minRole: 'viewer', handler: listMembers },
  {
    method: 'PATCH',
    path: `${WS}/members/[memberId]`,
    scope: 'workspace',
    minRole: 'admin',
    handler: patchMember,
    body: { role: 'viewer' },
  },
  { method: 'DELETE', path: `${WS}/members/[memberId]`, scope: 'workspace', minRole: 'admin', handler: deleteMember },

  { method: 'GET', path: `${WS}/invitations`, scope: 'workspace', minRole: 'admin', handler: listInvitations },
  {
    method: 'POST',
    path: `${WS}/invitations`,
    scope: 'workspace',
    minRole: 'admin',
    handler: createInvitation,
    body: { email: 'someone@example.com', role: 'developer' },
  },
  {
    method: 'DELETE',
    path: `${WS}/invitations/[invitationId]`,
    scope: 'workspace',
    minRole: 'admin',
    handler: revokeInvitation,
  },

  { method: 'GET', path: `${WS}/api-keys`, scope: 'workspace', minRole: 'admin', handler: listApiKeys },
  {
    method: 'POST',
    path: `${WS}/api-keys`,
    scope: 'workspace',
    minRole: 'admin',
    handler: createApiKeyRoute,
    body: { name: 'ci' },
  },
  { method: 'DELETE', path: `${WS}/api-keys/[keyId]`, scope: 'workspace', minRole: 'admin', handler: revokeApiKey },

  ...DATASET_ROUTES,
  ...FINE_TUNING_ROUTES,
  ...MODEL_ROUTES,
  ...BILLING_ROUTES,
  { method: 'GET', path: `${WS}/models`, scope: 'workspace', minRole: 'viewer', handler: listModels },
  { method: 'GET', path: `${WS}/models/[modelId]`, scope: 'workspace', minRole: 'viewer', handler: getModel },
  ...DEPLOYMENT_ROUTES,
  ...EVALUATION_ROUTES,
  ...REQUEST_LOG_ROUTES,
  { method: 'GET', path: `${WS}/usage`, scope: 'workspace', minRole: 'viewer', handler: listUsage },
];
