import { getPrisma } from '@crucible/db';
import { MODEL_CATALOG, trainerWorkers, trainingNeeds, workersThatFit } from '@crucible/services/catalog';
import { addBaseModel, retryBaseModelDownload, ZAddBaseModel } from '@crucible/services/model-downloads';
import {
  abortModelUpload,
  completeModelUpload,
  getModelUpload,
  modelUploadMaxBytes,
  presignModelUploadParts,
  startModelUpload,
  ZModelUploadParts,
  ZStartModelUpload,
} from '@crucible/services/model-uploads';
import { deleteHubToken, hubTokenHints } from '@crucible/services/secrets';
import { z } from 'zod';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import { AppError } from '../errors';
import { json, readBody, route } from '../http';

/**
 * "Add base model" and the catalog (issue 14). The operations are @crucible/services' (model-downloads.ts): these
 * routes check the caller and the workspace, and answer what the Models page draws — the catalog with what each
 * model needs to train and how many of the live trainer workers have that memory, the workspace's stored hub
 * tokens (their last four characters only), and a new base model with its download's progress. An archive comes
 * in as a resumable multipart upload (model-uploads.ts): start, part URLs, the parts stored, complete, abort.
 */

export { ZModelUploadParts, ZStartModelUpload };

export const getCatalog = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const [workers, tokens, own] = await Promise.all([
    trainerWorkers(),
    hubTokenHints(workspace.id),
    getPrisma().baseModel.findMany({
      where: { workspaceId: workspace.id, sourceRef: { not: null } },
      select: { id: true, sourceRef: true, status: true },
    }),
  ]);
  return json({
    workers,
    hubTokens: tokens,
    uploadMaxBytes: modelUploadMaxBytes(),
    data: MODEL_CATALOG.map((e) => {
      const needs = trainingNeeds(e.config);
      const added = own.find((b) => b.sourceRef === e.huggingface || (e.modelscope && b.sourceRef === e.modelscope));
      return {
        id: e.id,
        name: e.name,
        family: e.family,
        architecture: e.architecture,
        huggingface: e.huggingface,
        modelscope: e.modelscope,
        instruct: e.instruct,
        license: e.license,
        gated: e.gated,
        contextLength: e.contextLength,
        template: e.template,
        unsupported: e.unsupported ?? needs.unsupported,
        // for the console to word it: the checkpoint is vision + text, or its config is one the core refuses
        unsupportedCode: e.unsupported ? 'multimodal' : needs.unsupported ? 'config' : null,
        parameters: needs.parameters,
        memory: { lora: needs.lora, full: needs.full, settings: needs.settings },
        fits: workersThatFit(needs, workers),
        added: added ? { id: added.id, status: added.status } : null,
      };
    }),
  });
});

export const addBaseModelRoute = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZAddBaseModel);
  const added = await addBaseModel(ctx.workspace.id, body, { userId: ctx.user?.id ?? null });
  const { token: _secret, ...recorded } = body as { token?: string };
  await audit(
    req,
    actorOf(ctx),
    'base_model.add',
    { type: 'base_model', id: added.id },
    { ...recorded, tokenGiven: Boolean(_secret) },
  );
  return json(added, { status: 202 });
});

export const startBaseModelUpload = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZStartModelUpload);
  return json(await startModelUpload(ctx.workspace.id, body, { userId: ctx.user?.id ?? null }), { status: 201 });
});

export const getBaseModelUpload = route(async (req, { slug, uploadId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  return json(await getModelUpload(ctx.workspace.id, uploadId));
});

export const presignBaseModelUploadParts = route(async (req, { slug, uploadId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const body = await readBody(req, ZModelUploadParts);
  return json(await presignModelUploadParts(ctx.workspace.id, uploadId, body));
});

export const completeBaseModelUpload = route(async (req, { slug, uploadId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  return json(await completeModelUpload(ctx.workspace.id, uploadId));
});

export const abortBaseModelUpload = route(async (req, { slug, uploadId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  return json(await abortModelUpload(ctx.workspace.id, uploadId));
});

export const retryBaseModel = route(async (req, { slug, baseModelId }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const again = await retryBaseModelDownload(ctx.workspace.id, baseModelId);
  await audit(req, actorOf(ctx), 'base_model.retry', { type: 'base_model', id: again.id }, {});
  return json(again, { status: 202 });
});

const ZHub = z.enum(['huggingface', 'modelscope']);

export const removeHubToken = route(async (req, { slug, hub }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const parsed = ZHub.safeParse(hub);
  if (!parsed.success) throw new AppError('not_found', 'No such hub: huggingface or modelscope.');
  if (!(await deleteHubToken(ctx.workspace.id, parsed.data))) {
    throw new AppError('not_found', 'This workspace has no access token stored for that hub.');
  }
  await audit(req, actorOf(ctx), 'hub_token.delete', { type: 'workspace', id: ctx.workspace.id }, { hub });
  return new Response(null, { status: 204 });
});
