// /api/workspaces/[slug]/base-models: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { addBaseModelRoute } from '../../../../../lib/server/routes/base-models';
import { listBaseModels } from '../../../../../lib/server/routes/models-registry';

export const dynamic = 'force-dynamic';

export const GET = mount(listBaseModels);
export const POST = mount(addBaseModelRoute);
