// /api/admin/price-lists: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../lib/server/next';
import { createInstancePriceList, listInstancePriceLists } from '../../../../lib/server/routes/billing-admin';

export const dynamic = 'force-dynamic';

export const GET = mount(listInstancePriceLists);
export const POST = mount(createInstancePriceList);
