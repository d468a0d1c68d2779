// /api/workspaces/[slug]/base-models/[baseModelId]/exports: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { createBaseExport } from '../../../../../../../lib/server/routes/models';

export const dynamic = 'force-dynamic';

export const POST = mount(createBaseExport);
