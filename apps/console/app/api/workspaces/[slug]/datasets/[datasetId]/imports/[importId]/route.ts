// /api/workspaces/[slug]/datasets/[datasetId]/imports/[importId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../lib/server/next';
import { getDatasetImport } from '../../../../../../../../lib/server/routes/datasets';

export const dynamic = 'force-dynamic';

export const GET = mount(getDatasetImport);
