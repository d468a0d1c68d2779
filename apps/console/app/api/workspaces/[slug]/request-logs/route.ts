// A workspace's kept chat requests (the Logs page): lib/server/routes/request-logs.ts.
import { mount } from '../../../../../lib/server/next';
import { listRequestLogs } from '../../../../../lib/server/routes/request-logs';

export const dynamic = 'force-dynamic';

export const GET = mount(listRequestLogs);
