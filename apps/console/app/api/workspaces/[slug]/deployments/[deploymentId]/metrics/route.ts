// /api/workspaces/[slug]/deployments/[deploymentId]/metrics: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { getDeploymentMetrics } from '../../../../../../../lib/server/routes/deployments';

export const dynamic = 'force-dynamic';

export const GET = mount(getDeploymentMetrics);
