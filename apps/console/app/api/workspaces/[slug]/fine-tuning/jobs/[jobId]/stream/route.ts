// /api/workspaces/[slug]/fine-tuning/jobs/[jobId]/stream: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../../lib/server/next';
import { streamJob } from '../../../../../../../../lib/server/routes/fine-tuning-stream';

export const dynamic = 'force-dynamic';

export const GET = mount(streamJob);
