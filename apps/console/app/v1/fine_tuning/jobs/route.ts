// /v1/fine_tuning/jobs: OpenAI's fine-tuning API (lib/server/routes/openai-fine-tuning.ts), authenticated by workspace API keys.
import { mount } from '../../../../lib/server/next';
import { createFineTuningJob, listFineTuningJobs } from '../../../../lib/server/routes/openai-fine-tuning';

export const dynamic = 'force-dynamic';

export const GET = mount(listFineTuningJobs);
export const POST = mount(createFineTuningJob);
