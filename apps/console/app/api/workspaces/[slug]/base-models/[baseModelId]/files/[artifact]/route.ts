// /api/workspaces/[slug]/base-models/[baseModelId]/files/[artifact]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../lib/server/next';
import { downloadBaseModel } from '../../../../../../../../lib/server/routes/models';

export const dynamic = 'force-dynamic';

export const GET = mount(downloadBaseModel);
