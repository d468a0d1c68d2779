// /v1/fine_tuning/jobs/[jobId]: OpenAI's fine-tuning API (lib/server/routes/openai-fine-tuning.ts), authenticated by workspace API keys.
import { mount } from '../../../../../lib/server/next';
import { retrieveFineTuningJob } from '../../../../../lib/server/routes/openai-fine-tuning';

export const dynamic = 'force-dynamic';

export const GET = mount(retrieveFineTuningJob);
