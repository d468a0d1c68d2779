// /api/workspaces/[slug]/members/[memberId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { deleteMember, patchMember } from '../../../../../../lib/server/routes/members';

export const dynamic = 'force-dynamic';

export const PATCH = mount(patchMember);
export const DELETE = mount(deleteMember);
