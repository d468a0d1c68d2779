/** Instance price lists (GET/POST /api/admin/price-lists): instance admins only (user.role "admin"). */
import { priceItemsOf, resolvePrice, ZPriceListInput } from '@crucible/billing';
import { createPriceList, listPriceLists } from '@crucible/db/billing';
import { requireUser } from '../context';
import { AppError } from '../errors';
import { json, readBody } from '../http';
import { billingRoute, effectiveFromOf, isInstanceAdmin } from './billing';

async function requireInstanceAdmin(req: Request) {
  const { user } = await requireUser(req);
  if (!(await isInstanceAdmin(user.id)))
    throw new AppError('forbidden', 'Only instance admins manage instance prices.');
  return user;
}

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
