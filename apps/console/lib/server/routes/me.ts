import { getPrisma } from '@crucible/db';
import { ZUpdateMe } from '../../schemas';
import { effectiveRole, isInstanceAdmin, requireUser } from '../context';
import { json, readBody, route } from '../http';

async function myWorkspaces(userId: string) {
  const members = await getPrisma().member.findMany({
    where: { userId },
    include: { workspace: { select: { id: true, name: true, slug: true, createdAt: true } } },
    orderBy: { createdAt: 'asc' },
  });
  return members.map((m) => ({ ...m.workspace, role: effectiveRole(m.role) }));
}

/** GET /api/me: the signed-in user, their language, their workspaces, and whether they are an instance admin. */
export const getMe = route(async (req) => {
  const { user } = await requireUser(req);
  return json({
    user,
    locale: user.locale,
    workspaces: await myWorkspaces(user.id),
    instanceAdmin: await isInstanceAdmin(user.id),
  });
});

/** PATCH /api/me: change the console language (en | zh-CN). */
export const patchMe = route(async (req) => {
  const { user } = await requireUser(req);
  const body = await readBody(req, ZUpdateMe);
  await getPrisma().user.update({ where: { id: user.id }, data: { locale: body.locale } });
  const updated = { ...user, locale: body.locale };
  return json({
    user: updated,
    locale: body.locale,
    workspaces: await myWorkspaces(user.id),
    instanceAdmin: await isInstanceAdmin(user.id),
  });
});

export { myWorkspaces };
