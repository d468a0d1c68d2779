// /api/openapi.json: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../lib/server/next';
import { getOpenApi } from '../../../lib/server/routes/openapi';

export const dynamic = 'force-dynamic';

export const GET = mount(getOpenApi);
