// /api/workspaces/[slug]/usage: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { listUsage } from '../../../../../lib/server/routes/resources';

export const dynamic = 'force-dynamic';

export const GET = mount(listUsage);
