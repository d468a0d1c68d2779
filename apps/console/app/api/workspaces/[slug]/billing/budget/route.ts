// /api/workspaces/[slug]/billing/budget: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { deleteBudget, getBudget, putBudget } from '../../../../../../lib/server/routes/billing';

export const dynamic = 'force-dynamic';

export const GET = mount(getBudget);
export const PUT = mount(putBudget);
export const DELETE = mount(deleteBudget);
