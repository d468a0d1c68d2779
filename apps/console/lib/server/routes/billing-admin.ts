/**
 * Instance admin billing (user.role "admin"): the instance price lists (GET/POST /api/admin/price-lists) and every
 * workspace's spend and budget (GET /api/admin/billing/workspaces). Anyone else gets 403.
 */
import { instanceBillingOverview, priceItemsOf, resolvePrice, ZPriceListInput } from '@crucible/billing';
import { listMemberships } from '@crucible/db';
import { createPriceList, listPriceLists } from '@crucible/db/billing';
import { requireUser } from '../context';
import { AppError } from '../errors';
import { json, readBody } from '../http';
import { billingRoute, effectiveFromOf, isInstanceAdmin } from './billing';

async function requireInstanceAdmin(req: Request, what = 'manage instance prices') {
  const { user } = await requireUser(req);
  if (!(await isInstanceAdmin(user.id))) throw new AppError('forbidden', `Only instance admins ${what}.`);
  return user;
}

/**
 * GET /api/admin/billing/workspaces?from=YYYY-MM-DD&to=YYYY-MM-DD: every workspace with spend by category over the
 * range (default: this month), month-to-date, forecast and budget, plus the caller's own role in each (null when
 * not a member: the console then opens the read-only admin view of that workspace's billing).
 */
export const listWorkspacesBilling = billingRoute(async (req) => {
  const user = await requireInstanceAdmin(req, "see every workspace's billing");
  const q = new URL(req.url).searchParams;
  const overview = await instanceBillingOverview({ from: q.get('from'), to: q.get('to') });
  const mine = new Map((await listMemberships(user.id)).map((m) => [m.workspaceId, m.role]));
  return json({
    ...overview,
    workspaces: overview.workspaces.map((w) => ({ ...w, myRole: mine.get(w.id) ?? null })),
  });
});

export const listInstancePriceLists = billingRoute(async (req) => {
  await requireInstanceAdmin(req);
  await resolvePrice({ workspaceId: null, meter: 'training_tokens' }).catch(() => undefined); // seeds the default list
  const lists = await listPriceLists(null);
  return json({
    data: lists.map((l) => ({
      id: l.id,
      name: l.name,
      currency: l.currency,
      effectiveFrom: l.effectiveFrom.toISOString(),
      items: l.items.map((i) => ({ ...i, unitPrice: i.unitPrice.toFixed() })),
    })),
  });
});

export const createInstancePriceList = billingRoute(async (req) => {
  const user = await requireInstanceAdmin(req);
  const body = await readBody(req, ZPriceListInput);
  const list = await createPriceList({
    workspaceId: null,
    name: body.name,
    currency: body.currency,
    effectiveFrom: effectiveFromOf(body.effectiveFrom),
    createdById: user.id,
    items: priceItemsOf(body),
  });
  return json({ ...list, items: list.items.map((i) => ({ ...i, unitPrice: i.unitPrice.toFixed() })) }, { status: 201 });
});
