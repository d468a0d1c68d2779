// /v1/fine_tuning/jobs/[jobId]/cancel: OpenAI's fine-tuning API (lib/server/routes/openai-fine-tuning.ts), authenticated by workspace API keys.
import { mount } from '../../../../../../lib/server/next';
import { cancelFineTuningJob } from '../../../../../../lib/server/routes/openai-fine-tuning';

export const dynamic = 'force-dynamic';

export const POST = mount(cancelFineTuningJob);
