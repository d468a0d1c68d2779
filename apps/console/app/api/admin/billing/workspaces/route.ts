// /api/admin/billing/workspaces: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { listWorkspacesBilling } from '../../../../../lib/server/routes/billing-admin';

export const dynamic = 'force-dynamic';

export const GET = mount(listWorkspacesBilling);
