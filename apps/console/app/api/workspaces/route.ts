// /api/workspaces: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../lib/server/next';
import { createWorkspaceRoute, listWorkspaces } from '../../../lib/server/routes/workspaces';

export const dynamic = 'force-dynamic';

export const GET = mount(listWorkspaces);
export const POST = mount(createWorkspaceRoute);
