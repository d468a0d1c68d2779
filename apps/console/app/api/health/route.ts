// /api/health: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../lib/server/next';
import { getHealth } from '../../../lib/server/routes/health';

export const dynamic = 'force-dynamic';

export const GET = mount(getHealth);
