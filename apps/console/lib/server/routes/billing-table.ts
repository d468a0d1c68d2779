import { ZBudgetInput, ZPriceListInput } from '@crucible/billing';
import type { THandler } from '../http';
import type { TRouteDef } from '../route-table';
import {
  createWorkspacePriceList,
  deleteBudget,
  getBillingLedger,
  getBillingStatement,
  getBillingSummary,
  getBudget,
  listWorkspacePriceLists,
  putBudget,
} from './billing';
import { createInstancePriceList, listInstancePriceLists, listWorkspacesBilling } from './billing-admin';
import { getUsage } from './usage';

/**
 * The workspace routes an instance admin who is not a member may call: billing reads only (they pass
 * `instanceAdminRead` to requireWorkspace). tenant-isolation.test.ts checks that exactly these answer such an admin
 * and every other workspace route still says 404.
 */
export const INSTANCE_ADMIN_READS: ReadonlySet<THandler> = new Set([
  getBillingSummary,
  getBillingLedger,
  getBillingStatement,
  getBudget,
  listWorkspacePriceLists,
]);

/** Billing routes, spread into ROUTES (route-table.ts) so the tenant-isolation suite walks them. */
const B = '/api/workspaces/[slug]/billing';
const PRICE_BODY = { name: 'Override', currency: 'USD', items: [{ meter: 'output_tokens', unitPrice: '0.001' }] };

export const BILLING_ROUTES: readonly TRouteDef[] = [
  {
    method: 'GET',
    path: '/api/usage',
    scope: 'user',
    handler: getUsage,
    summary: 'Usage totals by category and currency, and ledger lines, for ?from=&to= (API key or ?workspace=).',
  },
  {
    method: 'GET',
    path: '/api/admin/price-lists',
    scope: 'user',
    handler: listInstancePriceLists,
    summary: 'Instance price lists (instance admins).',
  },
  {
    method: 'POST',
    path: '/api/admin/price-lists',
    scope: 'user',
    handler: createInstancePriceList,
    body: PRICE_BODY,
    requestSchema: ZPriceListInput,
    summary: 'A new instance price list from a date (instance admins).',
  },
  {
    method: 'GET',
    path: '/api/admin/billing/workspaces',
    scope: 'user',
    handler: listWorkspacesBilling,
    summary: 'Every workspace: spend by category (?from=&to=), month-to-date, forecast, budget (instance admins).',
  },
  {
    method: 'GET',
    path: `${B}/summary`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getBillingSummary,
    summary: 'Month-to-date, forecast, daily series by category, breakdowns, budget state.',
  },
  {
    method: 'GET',
    path: `${B}/ledger`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getBillingLedger,
    summary: 'Ledger lines (?from=&to= or ?day=, &category=, &jobId=, ...); ?format=csv for CSV.',
  },
  {
    method: 'GET',
    path: `${B}/statement`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getBillingStatement,
    summary: 'Monthly statement (?month=YYYY-MM); ?format=csv for CSV.',
  },
  {
    method: 'GET',
    path: `${B}/budget`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getBudget,
    summary: 'The monthly budget with spend and alerts.',
  },
  {
    method: 'PUT',
    path: `${B}/budget`,
    scope: 'workspace',
    minRole: 'admin',
    handler: putBudget,
    body: { amount: '100', currency: 'USD' },
    requestSchema: ZBudgetInput,
    summary: 'Set the monthly budget (thresholds, hard limit).',
  },
  {
    method: 'DELETE',
    path: `${B}/budget`,
    scope: 'workspace',
    minRole: 'admin',
    handler: deleteBudget,
    summary: 'Remove the budget.',
  },
  {
    method: 'GET',
    path: `${B}/price-lists`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listWorkspacePriceLists,
    summary: 'Workspace override and instance price lists.',
  },
  {
    method: 'POST',
    path: `${B}/price-lists`,
    scope: 'workspace',
    minRole: 'admin',
    handler: createWorkspacePriceList,
    body: PRICE_BODY,
    requestSchema: ZPriceListInput,
    summary: 'A workspace price override list from a date.',
  },
];
