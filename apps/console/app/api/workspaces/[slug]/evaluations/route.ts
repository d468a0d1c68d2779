// /api/workspaces/[slug]/evaluations: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../lib/server/next';
import { createEvaluation, listEvaluations } from '../../../../../lib/server/routes/evaluations';

export const dynamic = 'force-dynamic';

export const GET = mount(listEvaluations);
export const POST = mount(createEvaluation);
