// /api/workspaces/[slug]/api-keys: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { createApiKeyRoute, listApiKeys } from '../../../../../lib/server/routes/api-keys';

export const dynamic = 'force-dynamic';

export const GET = mount(listApiKeys);
export const POST = mount(createApiKeyRoute);
