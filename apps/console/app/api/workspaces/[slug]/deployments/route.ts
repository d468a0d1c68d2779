// /api/workspaces/[slug]/deployments: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { createDeployment, listDeployments } from '../../../../../lib/server/routes/deployments';

export const dynamic = 'force-dynamic';

export const GET = mount(listDeployments);
export const POST = mount(createDeployment);
