// /api/workspaces/[slug]/billing/ledger: mounts handlers from lib/server (listed in lib/server/route-table.ts, where the tests find them).
import { mount } from '../../../../../../lib/server/next';
import { getBillingLedger } from '../../../../../../lib/server/routes/billing';

export const dynamic = 'force-dynamic';

export const GET = mount(getBillingLedger);
