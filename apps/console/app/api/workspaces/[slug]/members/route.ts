// /api/workspaces/[slug]/members: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { listMembers } from '../../../../../lib/server/routes/members';

export const dynamic = 'force-dynamic';

export const GET = mount(listMembers);
