// /v1/completions: the OpenAI-compatible gateway (lib/server/gateway), workspace API keys or session + X-Crucible-Workspace.
import { completions } from '../../../lib/server/gateway/handlers';
import { mount } from '../../../lib/server/next';

export const dynamic = 'force-dynamic';

export const POST = mount(completions);
