// /api/workspaces/[slug]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../lib/server/next';
import { deleteWorkspace, getWorkspace, patchWorkspace } from '../../../../lib/server/routes/workspaces';

export const dynamic = 'force-dynamic';

export const GET = mount(getWorkspace);
export const PATCH = mount(patchWorkspace);
export const DELETE = mount(deleteWorkspace);
