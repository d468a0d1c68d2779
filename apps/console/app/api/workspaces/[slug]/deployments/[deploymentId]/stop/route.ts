// /api/workspaces/[slug]/deployments/[deploymentId]/stop: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { stopDeployment } from '../../../../../../../lib/server/routes/deployments';

export const dynamic = 'force-dynamic';

export const POST = mount(stopDeployment);
