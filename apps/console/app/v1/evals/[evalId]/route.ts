// /v1/evals/[evalId]: OpenAI's Evals API (lib/server/routes/openai-evals.ts), authenticated by workspace API keys.
import { mount } from '../../../../lib/server/next';
import { retrieveEval } from '../../../../lib/server/routes/openai-evals';

export const dynamic = 'force-dynamic';

export const GET = mount(retrieveEval);
