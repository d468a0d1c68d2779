// /v1/chat/completions/{id}/messages: the messages of a stored chat completion (lib/server/gateway/stored.ts).
import { listStoredCompletionMessages } from '../../../../../../lib/server/gateway/stored';
import { mount } from '../../../../../../lib/server/next';

export const dynamic = 'force-dynamic';

export const GET = mount(listStoredCompletionMessages);
