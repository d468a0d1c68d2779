// /api/workspaces/[slug]/datasets/[datasetId]/imports: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { createDatasetImport, listDatasetImports } from '../../../../../../../lib/server/routes/datasets';

export const dynamic = 'force-dynamic';

export const GET = mount(listDatasetImports);
export const POST = mount(createDatasetImport);
