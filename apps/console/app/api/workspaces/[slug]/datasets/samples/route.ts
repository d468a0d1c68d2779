// /api/workspaces/[slug]/datasets/samples: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { importSample } from '../../../../../../lib/server/routes/getting-started';

export const dynamic = 'force-dynamic';

export const POST = mount(importSample);
