// /api/workspaces/[slug]/fine-tuned-models/[modelId]/files/[artifact]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../lib/server/next';
import { downloadFineTunedModel } from '../../../../../../../../lib/server/routes/models';

export const dynamic = 'force-dynamic';

export const GET = mount(downloadFineTunedModel);
