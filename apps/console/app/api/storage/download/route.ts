// /api/storage/download: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../lib/server/next';
import { storageDownload } from '../../../../lib/server/routes/datasets-storage';

export const dynamic = 'force-dynamic';

export const GET = mount(storageDownload);
