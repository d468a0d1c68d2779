// /v1/files/[fileId]/content: the file as uploaded (lib/server/routes/files.ts).
import { mount } from '../../../../../lib/server/next';
import { fileContent } from '../../../../../lib/server/routes/files';

export const dynamic = 'force-dynamic';

export const GET = mount(fileContent);
