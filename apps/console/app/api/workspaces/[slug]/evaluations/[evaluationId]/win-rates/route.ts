// /api/workspaces/[slug]/evaluations/[evaluationId]/win-rates: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { getWinRates } from '../../../../../../../lib/server/routes/evaluations';

export const dynamic = 'force-dynamic';

export const GET = mount(getWinRates);
