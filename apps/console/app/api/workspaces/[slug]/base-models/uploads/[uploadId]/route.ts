// /api/workspaces/[slug]/base-models/uploads/[uploadId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { abortBaseModelUpload, getBaseModelUpload } from '../../../../../../../lib/server/routes/base-models';

export const dynamic = 'force-dynamic';

export const GET = mount(getBaseModelUpload);
export const DELETE = mount(abortBaseModelUpload);
