// /api/me: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../lib/server/next';
import { getMe, patchMe } from '../../../lib/server/routes/me';

export const dynamic = 'force-dynamic';

export const GET = mount(getMe);
export const PATCH = mount(patchMe);
