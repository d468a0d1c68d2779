import { ZCreateFineTuningJob } from '../../schemas/fine-tuning';
import type { TRouteDef } from '../route-table';
import {
  cancelJobRoute,
  createJobRoute,
  estimateJob,
  getJobRoute,
  listJobCheckpoints,
  listJobEvents,
  listJobMetrics,
  listJobsRoute,
} from './fine-tuning';
import { streamJob } from './fine-tuning-stream';
import { listBaseModels, listFineTunedModels } from './models-registry';

/** Fine-tuning and model-registry routes, spread into ROUTES (route-table.ts) so the tenant suite walks them. */
const WS = '/api/workspaces/[slug]';
const JOB = `${WS}/fine-tuning/jobs/[jobId]`;
const CREATE_BODY = { baseModelId: 'x', trainingVersionId: 'y', method: 'sft_lora', hyperparameters: {} };

export const FINE_TUNING_ROUTES: readonly TRouteDef[] = [
  {
    method: 'GET',
    path: `${WS}/base-models`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listBaseModels,
    summary: 'Base models of the workspace (and built-in ones).',
  },
  {
    method: 'GET',
    path: `${WS}/fine-tuned-models`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listFineTunedModels,
    summary: 'Fine-tuned models with lineage.',
  },
  {
    method: 'POST',
    path: `${WS}/fine-tuning/estimate`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: estimateJob,
    body: CREATE_BODY,
    requestSchema: ZCreateFineTuningJob,
    summary: 'Trained tokens, time and cost of a job before it starts.',
  },
  {
    method: 'GET',
    path: `${WS}/fine-tuning/jobs`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listJobsRoute,
    summary: 'Fine-tuning jobs, newest first.',
  },
  {
    method: 'POST',
    path: `${WS}/fine-tuning/jobs`,
    scope: 'workspace',
    minRole: 'developer',
    handler: createJobRoute,
    body: CREATE_BODY,
    requestSchema: ZCreateFineTuningJob,
    summary: 'Create and enqueue a fine-tuning job.',
  },
  {
    method: 'GET',
    path: JOB,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getJobRoute,
    summary: 'One fine-tuning job.',
  },
  {
    method: 'POST',
    path: `${JOB}/cancel`,
    scope: 'workspace',
    minRole: 'developer',
    handler: cancelJobRoute,
    summary: 'Cancel a job (within one optimizer step when running).',
  },
  {
    method: 'GET',
    path: `${JOB}/metrics`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listJobMetrics,
    summary: 'Per-step metrics.',
  },
  {
    method: 'GET',
    path: `${JOB}/events`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listJobEvents,
    summary: 'The job log.',
  },
  {
    method: 'GET',
    path: `${JOB}/checkpoints`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listJobCheckpoints,
    summary: 'Checkpoints in storage.',
  },
  {
    method: 'GET',
    path: `${JOB}/stream`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: streamJob,
    summary:
      'Server-Sent Events: history, then live metrics, events and status (JSON snapshot without Accept: text/event-stream).',
  },
];
