import { createWorkspace } from '@crucible/auth';
import { getPrisma } from '@crucible/db';
import { ZCreateWorkspace, ZUpdateWorkspace } from '../../schemas';
import { actorOf, audit } from '../audit';
import { authenticate, requireWorkspace } from '../context';
import { json, readBody, route } from '../http';
import { myWorkspaces } from './me';

/** GET /api/workspaces: the caller's workspaces (an API key sees its own one). */
export const listWorkspaces = route(async (req) => {
  const principal = await authenticate(req);
  if (principal.kind === 'apiKey') {
    const ws = await getPrisma().workspace.findUnique({
      where: { id: principal.apiKey.workspaceId },
      select: { id: true, name: true, slug: true, createdAt: true },
    });
    return json({ data: ws ? [{ ...ws, role: 'developer' }] : [] });
  }
  return json({ data: await myWorkspaces(principal.user.id) });
});

/** POST /api/workspaces: create one; the creator becomes its owner. */
export const createWorkspaceRoute = route(async (req) => {
  const principal = await authenticate(req);
  if (principal.kind !== 'user') {
    return json(
      { error: { code: 'forbidden', message: 'API keys cannot create workspaces.', param: null } },
      { status: 403 },
    );
  }
  const body = await readBody(req, ZCreateWorkspace);
  const ws = await createWorkspace({ name: body.name, slug: body.slug, ownerId: principal.user.id });
  await audit(
    req,
    { user: principal.user, workspaceId: ws.id },
    'workspace.create',
    { type: 'workspace', id: ws.id },
    {
      slug: ws.slug,
    },
  );
  return json({ ...ws, role: 'owner' }, { status: 201 });
});

/** GET /api/workspaces/[slug] */
export const getWorkspace = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'viewer');
  return json({ ...ctx.workspace, role: ctx.role });
});

/** PATCH /api/workspaces/[slug]: rename (admin+). The slug is fixed: links and keys point at it. */
export const patchWorkspace = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const body = await readBody(req, ZUpdateWorkspace);
  const ws = await getPrisma().workspace.update({
    where: { id: ctx.workspace.id },
    data: { name: body.name },
    select: { id: true, name: true, slug: true, createdAt: true },
  });
  await audit(req, actorOf(ctx), 'workspace.update', { type: 'workspace', id: ws.id }, { name: ws.name });
  return json({ ...ws, role: ctx.role });
});

/** DELETE /api/workspaces/[slug]: owner only; everything in it goes (cascade). */
export const deleteWorkspace = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'owner');
  const prisma = getPrisma();
  // API keys reference the workspace by id without a foreign key (better-auth's layout): delete them explicitly.
  await prisma.apikey.deleteMany({ where: { referenceId: ctx.workspace.id } });
  await prisma.workspace.delete({ where: { id: ctx.workspace.id } });
  // Recorded at instance level: the workspace's own audit lines go with it.
  await audit(
    req,
    { ...actorOf(ctx), workspaceId: null },
    'workspace.delete',
    { type: 'workspace', id: ctx.workspace.id },
    {
      slug: ctx.workspace.slug,
      name: ctx.workspace.name,
    },
  );
  return json({ id: ctx.workspace.id, deleted: true });
});
