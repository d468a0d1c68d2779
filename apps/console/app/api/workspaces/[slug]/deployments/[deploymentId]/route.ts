// /api/workspaces/[slug]/deployments/[deploymentId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { deleteDeployment, getDeployment } from '../../../../../../lib/server/routes/deployments';
import { updateDeploymentLogging } from '../../../../../../lib/server/routes/request-logs';

export const dynamic = 'force-dynamic';

export const GET = mount(getDeployment);
export const DELETE = mount(deleteDeployment);
export const PATCH = mount(updateDeploymentLogging);
