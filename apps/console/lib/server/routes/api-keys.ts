import { createWorkspaceApiKey, listWorkspaceApiKeys, revokeWorkspaceApiKey } from '@crucible/auth';
import { ZCreateApiKey } from '../../schemas';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import { AppError } from '../errors';
import { json, readBody, route } from '../http';

/** GET /api/workspaces/[slug]/api-keys: name, visible start, last use — never the key. */
export const listApiKeys = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  return json({ data: await listWorkspaceApiKeys(ctx.workspace.id) });
});

/** POST /api/workspaces/[slug]/api-keys: the only response that ever contains the key. */
export const createApiKeyRoute = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const body = await readBody(req, ZCreateApiKey);
  const created = await createWorkspaceApiKey({
    workspaceId: ctx.workspace.id,
    name: body.name,
    expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
    createdBy: ctx.user?.id ?? null,
  });
  await audit(req, actorOf(ctx), 'api_key.create', { type: 'api_key', id: created.id }, { name: created.name });
  return json(created, { status: 201, headers: { 'cache-control': 'no-store' } });
});

/** DELETE /api/workspaces/[slug]/api-keys/[keyId]: revoke; the next request with the key gets 401. */
export const revokeApiKey = route(async (req, { slug, keyId }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  if (!(await revokeWorkspaceApiKey(ctx.workspace.id, keyId))) throw new AppError('not_found', 'No such API key.');
  await audit(req, actorOf(ctx), 'api_key.revoke', { type: 'api_key', id: keyId });
  return json({ id: keyId, deleted: true });
});
