// /v1/models: base, fine-tuned and deployed models of the caller's workspace (lib/server/gateway).
import { listModelsV1 } from '../../../lib/server/gateway/handlers';
import { mount } from '../../../lib/server/next';

export const dynamic = 'force-dynamic';

export const GET = mount(listModelsV1);
