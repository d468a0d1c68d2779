// /api/workspaces/[slug]/base-models/catalog: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { getCatalog } from '../../../../../../lib/server/routes/base-models';

export const dynamic = 'force-dynamic';

export const GET = mount(getCatalog);
