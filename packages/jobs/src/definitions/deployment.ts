import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

export const ZDeploymentAction = z.enum(['start', 'stop', 'restart']);
export type TDeploymentAction = z.infer<typeof ZDeploymentAction>;

/** Only ids: the Deployment row in Postgres says what to serve and how. */
export const ZDeploymentJobPayload = z.strictObject({
  deploymentId: z.string().min(1, 'deploymentId is required').max(64),
  action: ZDeploymentAction,
});
export type TDeploymentJobPayload = z.infer<typeof ZDeploymentJobPayload>;

export const deploymentActionJob = defineJob({
  id: 'deployment.action',
  version: 1,
  queue: QUEUE_NAMES.deployments,
  schema: ZDeploymentJobPayload,
});
