import { ZAddBaseModel } from '@crucible/services/model-downloads';
import type { TRouteDef } from '../route-table';
import {
  addBaseModelRoute,
  getCatalog,
  removeHubToken,
  retryBaseModel,
  startBaseModelUpload,
  ZStartModelUpload,
} from './base-models';
import {
  createBaseExport,
  createFineTunedExport,
  deleteBaseModel,
  deleteFineTunedModel,
  downloadBaseModel,
  downloadFineTunedModel,
  getBaseModel,
  getFineTunedModel,
  patchFineTunedModel,
  ZCreateExport,
  ZPatchFineTunedModel,
} from './models';

/** The model pages: detail, edit, exports, downloads, delete. Spliced into ROUTES (route-table.ts). */
const WS = '/api/workspaces/[slug]';
const FT = `${WS}/fine-tuned-models/[modelId]`;
const BASE = `${WS}/base-models/[baseModelId]`;
const EXPORT_BODY = { format: 'gguf', dtype: 'F16' };

export const MODEL_ROUTES: readonly TRouteDef[] = [
  {
    method: 'POST',
    path: `${WS}/base-models`,
    scope: 'workspace',
    minRole: 'developer',
    handler: addBaseModelRoute,
    body: { source: 'huggingface', repo: 'acme/tiny' },
    requestSchema: ZAddBaseModel,
    summary:
      "Add a base model from Hugging Face or ModelScope (repo, revision, token), a folder on the workers' shared storage, or an uploaded archive; 202 with its download.",
  },
  {
    method: 'GET',
    path: `${WS}/base-models/catalog`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getCatalog,
    summary:
      'The curated catalog: parameters, license, context, the memory LoRA and full fine-tuning need, and the trainer workers that have it.',
  },
  {
    method: 'POST',
    path: `${WS}/base-models/uploads`,
    scope: 'workspace',
    minRole: 'developer',
    handler: startBaseModelUpload,
    body: { fileName: 'model.tar', size: 1024 },
    requestSchema: ZStartModelUpload,
    summary: 'Start uploading a .tar/.zip of a model directory: a presigned, size-limited target and an upload id.',
  },
  {
    method: 'POST',
    path: `${BASE}/retry`,
    scope: 'workspace',
    minRole: 'developer',
    handler: retryBaseModel,
    summary: 'Try a failed base-model download again (it resumes from what the worker kept).',
  },
  {
    method: 'DELETE',
    path: `${WS}/hub-tokens/[hub]`,
    scope: 'workspace',
    minRole: 'admin',
    handler: removeHubToken,
    summary: "Forget the workspace's stored access token for a hub (huggingface or modelscope).",
  },
  {
    method: 'GET',
    path: FT,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getFineTunedModel,
    summary: 'A fine-tuned model: lineage, model card, downloads and how to load them.',
  },
  {
    method: 'PATCH',
    path: FT,
    scope: 'workspace',
    minRole: 'developer',
    handler: patchFineTunedModel,
    body: { displayName: 'x' },
    requestSchema: ZPatchFineTunedModel,
    summary: 'Rename a fine-tuned model or edit its description (the model card).',
  },
  {
    method: 'DELETE',
    path: FT,
    scope: 'workspace',
    minRole: 'developer',
    handler: deleteFineTunedModel,
    summary: 'Delete a fine-tuned model and its files (409 while a deployment serves it).',
  },
  {
    method: 'POST',
    path: `${FT}/exports`,
    scope: 'workspace',
    minRole: 'developer',
    handler: createFineTunedExport,
    body: EXPORT_BODY,
    requestSchema: ZCreateExport,
    summary: 'Build a download: merged safetensors, a GGUF of the model, or (of: base) of its base.',
  },
  {
    method: 'GET',
    path: `${FT}/files/[artifact]`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: downloadFineTunedModel,
    summary: 'Download: card, adapter, gguf-adapter, weights, merged, gguf, gguf-base or logs (?dtype=, ?file=).',
  },
  {
    method: 'GET',
    path: BASE,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getBaseModel,
    summary: 'A base model: configuration, what was built on it, downloads.',
  },
  {
    method: 'DELETE',
    path: BASE,
    scope: 'workspace',
    minRole: 'admin',
    handler: deleteBaseModel,
    summary: 'Delete a base model of this workspace (409 while anything was made from it).',
  },
  {
    method: 'POST',
    path: `${BASE}/exports`,
    scope: 'workspace',
    minRole: 'developer',
    handler: createBaseExport,
    body: EXPORT_BODY,
    requestSchema: ZCreateExport,
    summary: 'Build a GGUF of a base model.',
  },
  {
    method: 'GET',
    path: `${BASE}/files/[artifact]`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: downloadBaseModel,
    summary: 'Download: card, weights or gguf (?dtype=).',
  },
];
