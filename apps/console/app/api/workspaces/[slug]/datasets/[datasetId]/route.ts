// /api/workspaces/[slug]/datasets/[datasetId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { deleteDataset, getDataset } from '../../../../../../lib/server/routes/datasets';

export const dynamic = 'force-dynamic';

export const GET = mount(getDataset);
export const DELETE = mount(deleteDataset);
