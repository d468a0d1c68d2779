// /api/workspaces/[slug]/fine-tuned-models/[modelId]: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import {
  deleteFineTunedModel,
  getFineTunedModel,
  patchFineTunedModel,
} from '../../../../../../lib/server/routes/models';

export const dynamic = 'force-dynamic';

export const GET = mount(getFineTunedModel);
export const PATCH = mount(patchFineTunedModel);
export const DELETE = mount(deleteFineTunedModel);
