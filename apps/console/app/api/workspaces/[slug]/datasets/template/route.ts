// /api/workspaces/[slug]/datasets/template: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { getDatasetTemplate } from '../../../../../../lib/server/routes/datasets';

export const dynamic = 'force-dynamic';

export const GET = mount(getDatasetTemplate);
