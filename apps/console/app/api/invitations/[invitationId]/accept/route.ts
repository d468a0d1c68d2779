// /api/invitations/[invitationId]/accept: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { acceptInvitation } from '../../../../../lib/server/routes/invitations';

export const dynamic = 'force-dynamic';

export const POST = mount(acceptInvitation);
