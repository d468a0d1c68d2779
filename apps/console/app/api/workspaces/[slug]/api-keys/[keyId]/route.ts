// /api/workspaces/[slug]/api-keys/[keyId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { revokeApiKey } from '../../../../../../lib/server/routes/api-keys';

export const dynamic = 'force-dynamic';

export const DELETE = mount(revokeApiKey);
