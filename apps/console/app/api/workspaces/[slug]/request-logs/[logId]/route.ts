// One kept chat request: read or delete (lib/server/routes/request-logs.ts).
import { mount } from '../../../../../../lib/server/next';
import { deleteRequestLog, getRequestLog } from '../../../../../../lib/server/routes/request-logs';

export const dynamic = 'force-dynamic';

export const GET = mount(getRequestLog);
export const DELETE = mount(deleteRequestLog);
