// /api/workspaces/[slug]/fine-tuning/jobs/[jobId]/cancel: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../lib/server/next';
import { cancelJobRoute } from '../../../../../../../../lib/server/routes/fine-tuning';

export const dynamic = 'force-dynamic';

export const POST = mount(cancelJobRoute);
