// /api/invitations/[invitationId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../lib/server/next';
import { getInvitation } from '../../../../lib/server/routes/invitations';

export const dynamic = 'force-dynamic';

export const GET = mount(getInvitation);
