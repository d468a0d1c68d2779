/**
 * Workspace billing API: the dashboard summary, ledger lines (with drill-down filters) and CSV, the monthly
 * statement, the budget, and price lists (workspace overrides). All numbers come from @crucible/billing.
 */
import {
  budgetStatus,
  CATEGORIES,
  checkBudgetAlerts,
  dayRange,
  ledgerCsv,
  lineOut,
  monthlyStatement,
  priceItemsOf,
  resolvePrice,
  statementCsv,
  type TCategory,
  workspaceSummary,
  ZBudgetInput,
  ZPriceListInput,
} from '@crucible/billing';
import {
  createPriceList,
  deleteBudgetRow,
  findLedgerLines,
  listPriceLists,
  upsertBudgetRow,
} from '@crucible/db/billing';
import { isInstanceAdmin, requireWorkspace } from '../context';
import { AppError } from '../errors';
import { download, json, readBody, route, type THandler } from '../http';
import { billingToAppError } from './billing-guard';
import { mailConfigured, nameBreakdowns } from './billing-names';

/** route() with billing errors mapped to API errors. */
export const billingRoute = (handler: THandler): THandler =>
  route(async (req, params) => {
    try {
      return await handler(req, params);
    } catch (error) {
      throw billingToAppError(error);
    }
  });

const query = (req: Request) => new URL(req.url).searchParams;
/** The billing reads an instance admin may make in any workspace (instanceAdminRead in billing-table.ts). */
const READ = { instanceAdminRead: true };

function categoryOf(v: string | null): TCategory | undefined {
  if (!v) return undefined;
  if (!(CATEGORIES as readonly string[]).includes(v)) {
    throw new AppError('invalid_request', `category must be one of ${CATEGORIES.join(', ')}.`, 'category');
  }
  return v as TCategory;
}

export const getBillingSummary = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer', READ);
  const q = query(req);
  await checkBudgetAlerts(workspace.id);
  const summary = await workspaceSummary(workspace.id, { from: q.get('from'), to: q.get('to') });
  return json({
    ...summary,
    breakdowns: await nameBreakdowns(workspace.id, summary.breakdowns),
    budget: await budgetStatus(workspace.id),
    mailConfigured: mailConfigured(),
  });
});

const MAX_LINES = 1000;

/** Ledger lines for a range; `day` narrows to one day (drill-down from a bar), plus category/job/... filters. */
async function ledgerOf(req: Request, workspaceId: string, take?: number) {
  const q = query(req);
  const day = q.get('day');
  const range = dayRange(day ?? q.get('from'), day ?? q.get('to'));
  const lines = await findLedgerLines(
    {
      workspaceId,
      from: range.fromDate,
      to: range.toExclusive,
      category: categoryOf(q.get('category')),
      jobId: q.get('jobId') ?? undefined,
      deploymentId: q.get('deploymentId') ?? undefined,
      modelId: q.get('modelId') ?? undefined,
      apiKeyId: q.get('apiKeyId') ?? undefined,
      userId: q.get('userId') ?? undefined,
    },
    take ? { take } : {},
  );
  return { range, lines };
}

export const getBillingLedger = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer', READ);
  const raw = Number(query(req).get('limit') ?? MAX_LINES);
  const limit = Number.isInteger(raw) && raw > 0 ? Math.min(raw, MAX_LINES) : MAX_LINES;
  if (query(req).get('format') === 'csv') {
    const { range, lines } = await ledgerOf(req, workspace.id);
    return download(ledgerCsv(lines), `ledger-${workspace.slug}-${range.from}-${range.to}.csv`);
  }
  const { range, lines } = await ledgerOf(req, workspace.id, limit + 1);
  return json({
    from: range.from,
    to: range.to,
    data: lines.slice(0, limit).map(lineOut),
    hasMore: lines.length > limit,
  });
});

export const getBillingStatement = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer', READ);
  const statement = await monthlyStatement(workspace.id, query(req).get('month'));
  if (query(req).get('format') === 'csv') {
    return download(statementCsv(statement), `statement-${workspace.slug}-${statement.month}.csv`);
  }
  return json({ workspace: { slug: workspace.slug, name: workspace.name }, ...statement });
});

export const getBudget = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer', READ);
  return json({ data: await budgetStatus(workspace.id) });
});

export const putBudget = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'admin');
  const body = await readBody(req, ZBudgetInput);
  await upsertBudgetRow(workspace.id, { ...body, thresholds: [...new Set(body.thresholds)].sort((a, b) => a - b) });
  await checkBudgetAlerts(workspace.id);
  return json({ data: await budgetStatus(workspace.id) });
});

export const deleteBudget = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'admin');
  if (!(await deleteBudgetRow(workspace.id))) throw new AppError('not_found', 'This workspace has no budget.');
  return new Response(null, { status: 204 });
});

const listOut = (l: Awaited<ReturnType<typeof listPriceLists>>[number]) => ({
  id: l.id,
  name: l.name,
  scope: l.workspaceId ? 'workspace' : 'instance',
  currency: l.currency,
  effectiveFrom: l.effectiveFrom.toISOString(),
  createdAt: l.createdAt.toISOString(),
  items: l.items.map((i) => ({
    id: i.id,
    category: i.category,
    meter: i.meter,
    unit: i.unit,
    unitPrice: i.unitPrice.toFixed(),
    modelRef: i.modelRef,
    method: i.method,
    workerClass: i.workerClass,
  })),
});

/** The workspace's override lists and the instance lists, newest first (what the Prices tab shows). */
export const listWorkspacePriceLists = billingRoute(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer', READ);
  // resolving one price seeds the default instance list on a fresh install, so the tab never starts empty
  await resolvePrice({ workspaceId: workspace.id, meter: 'training_tokens' }).catch(() => undefined);
  const [own, instance] = await Promise.all([listPriceLists(workspace.id), listPriceLists(null)]);
  return json({ data: [...own, ...instance].map(listOut) });
});

/** Effective date: now when absent; never in the past (a price change must not reach back to charged time). */
export function effectiveFromOf(v: string | undefined): Date {
  const now = new Date();
  if (!v) return now;
  const d = new Date(v.length === 10 ? `${v}T00:00:00.000Z` : v);
  if (d.getTime() < now.getTime() - 60_000) {
    throw new AppError(
      'invalid_request',
      'A price list takes effect now or later, never in the past.',
      'effectiveFrom',
    );
  }
  return d;
}

export const createWorkspacePriceList = billingRoute(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'admin');
  const body = await readBody(req, ZPriceListInput);
  const list = await createPriceList({
    workspaceId: ctx.workspace.id,
    name: body.name,
    currency: body.currency,
    effectiveFrom: effectiveFromOf(body.effectiveFrom),
    createdById: ctx.user?.id ?? null,
    items: priceItemsOf(body),
  });
  return json(listOut(list), { status: 201 });
});

/** Instance admins (user.role "admin") manage the instance price lists and see every workspace's usage. */
export { isInstanceAdmin };
