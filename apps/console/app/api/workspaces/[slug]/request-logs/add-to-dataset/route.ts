// Kept chats into a new draft version of a ChatML dataset (lib/server/routes/request-logs.ts).
import { mount } from '../../../../../../lib/server/next';
import { addRequestLogsToDataset } from '../../../../../../lib/server/routes/request-logs';

export const dynamic = 'force-dynamic';

export const POST = mount(addRequestLogsToDataset);
