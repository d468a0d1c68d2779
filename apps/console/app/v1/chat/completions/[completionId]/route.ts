// /v1/chat/completions/{id}: read, update (metadata) or delete a stored chat completion (lib/server/gateway/stored.ts).
import {
  deleteStoredCompletion,
  retrieveStoredCompletion,
  updateStoredCompletion,
} from '../../../../../lib/server/gateway/stored';
import { mount } from '../../../../../lib/server/next';

export const dynamic = 'force-dynamic';

export const GET = mount(retrieveStoredCompletion);
export const POST = mount(updateStoredCompletion);
export const DELETE = mount(deleteStoredCompletion);
