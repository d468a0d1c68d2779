// /api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]/publish: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../../lib/server/next';
import { publishDatasetVersion } from '../../../../../../../../../lib/server/routes/datasets-versions';

export const dynamic = 'force-dynamic';

export const POST = mount(publishDatasetVersion);
