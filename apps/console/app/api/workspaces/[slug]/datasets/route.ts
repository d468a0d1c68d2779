// /api/workspaces/[slug]/datasets: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { createDataset, listDatasets } from '../../../../../lib/server/routes/datasets';

export const dynamic = 'force-dynamic';

export const GET = mount(listDatasets);
export const POST = mount(createDataset);
