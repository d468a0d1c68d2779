// /api/workspaces/[slug]/evaluations/[evaluationId]/add-to-dataset: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../../lib/server/next';
import { addEvaluationRowsToDatasetRoute } from '../../../../../../../lib/server/routes/evaluations';

export const dynamic = 'force-dynamic';

export const POST = mount(addEvaluationRowsToDatasetRoute);
