// Thumbs up/down on a kept chat request or a playground turn (lib/server/routes/request-logs.ts).
import { mount } from '../../../../../../../lib/server/next';
import { rateRequestLog } from '../../../../../../../lib/server/routes/request-logs';

export const dynamic = 'force-dynamic';

export const PUT = mount(rateRequestLog);
