// Mounts lib/server handlers (see lib/server/route-table.ts); the logic and its tests live there.
import { mount } from '../../../../../lib/server/next';

export const dynamic = 'force-dynamic';

const PATH = '/api/workspaces/[slug]/deployments';
export const GET = mount('GET', PATH);
