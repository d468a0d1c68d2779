// /v1/models/{model}: retrieve one model of the caller's workspace, or delete a fine-tuned one (lib/server/gateway).
import { deleteModelV1, retrieveModelV1 } from '../../../../lib/server/gateway/handlers';
import { mount } from '../../../../lib/server/next';

export const dynamic = 'force-dynamic';

export const GET = mount(retrieveModelV1);
export const DELETE = mount(deleteModelV1);
