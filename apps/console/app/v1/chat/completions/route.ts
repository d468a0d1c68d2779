// /v1/chat/completions: the OpenAI-compatible gateway (lib/server/gateway), workspace API keys or session + X-Crucible-Workspace.
// POST creates a completion; GET lists the workspace's stored ones (OpenAI's stored completions, gateway/stored.ts).
import { chatCompletions } from '../../../../lib/server/gateway/handlers';
import { listStoredCompletions } from '../../../../lib/server/gateway/stored';
import { mount } from '../../../../lib/server/next';

export const dynamic = 'force-dynamic';

export const POST = mount(chatCompletions);
export const GET = mount(listStoredCompletions);
