// /api/workspaces/[slug]/getting-started: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { getGettingStarted } from '../../../../../lib/server/routes/getting-started';

export const dynamic = 'force-dynamic';

export const GET = mount(getGettingStarted);
