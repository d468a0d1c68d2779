// /api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]/invalid-rows: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../../lib/server/next';
import { invalidRowsOfDatasetVersion } from '../../../../../../../../../lib/server/routes/datasets-versions';

export const dynamic = 'force-dynamic';

export const GET = mount(invalidRowsOfDatasetVersion);
