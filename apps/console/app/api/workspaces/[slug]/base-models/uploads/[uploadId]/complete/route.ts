// /api/workspaces/[slug]/base-models/uploads/[uploadId]/complete: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../lib/server/next';
import { completeBaseModelUpload } from '../../../../../../../../lib/server/routes/base-models';

export const dynamic = 'force-dynamic';

export const POST = mount(completeBaseModelUpload);
