// /api/workspaces/[slug]/hub-tokens/[hub]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { removeHubToken } from '../../../../../../lib/server/routes/base-models';

export const dynamic = 'force-dynamic';

export const DELETE = mount(removeHubToken);
