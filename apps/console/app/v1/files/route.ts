// /v1/files: OpenAI's Files API shape (lib/server/routes/files.ts), authenticated by workspace API keys.
import { mount } from '../../../lib/server/next';
import { createFile, listFiles } from '../../../lib/server/routes/files';

export const dynamic = 'force-dynamic';

export const GET = mount(listFiles);
export const POST = mount(createFile);
