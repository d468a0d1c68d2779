// /api/usage: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../lib/server/next';
import { getUsage } from '../../../lib/server/routes/usage';

export const dynamic = 'force-dynamic';

export const GET = mount(getUsage);
