// /v1/files/[fileId]: OpenAI's Files API shape (lib/server/routes/files.ts), authenticated by workspace API keys.
import { mount } from '../../../../lib/server/next';
import { deleteFile, retrieveFile } from '../../../../lib/server/routes/files';

export const dynamic = 'force-dynamic';

export const GET = mount(retrieveFile);
export const DELETE = mount(deleteFile);
