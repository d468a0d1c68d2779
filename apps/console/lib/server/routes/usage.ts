/**
 * GET /api/usage?from=YYYY-MM-DD&to=YYYY-MM-DD — the ledger's totals and lines, the same numbers as the dashboard.
 * A workspace API key reads its own workspace; a session names one with ?workspace=slug (any role), and an
 * instance admin may leave it out to read every workspace.
 */
import { lineOut, usageReport } from '@crucible/billing';
import { authenticate, isInstanceAdmin, requireWorkspace } from '../context';
import { AppError } from '../errors';
import { json } from '../http';
import { billingRoute } from './billing';

export const getUsage = billingRoute(async (req) => {
  const q = new URL(req.url).searchParams;
  const principal = await authenticate(req);
  let workspaceId: string | undefined;
  if (principal.kind === 'apiKey') {
    workspaceId = principal.apiKey.workspaceId;
  } else {
    const slug = q.get('workspace');
    if (slug) workspaceId = (await requireWorkspace(req, slug, 'viewer', { instanceAdminRead: true })).workspace.id;
    else if (!(await isInstanceAdmin(principal.user.id))) {
      throw new AppError(
        'invalid_request',
        'Name the workspace: ?workspace=slug (only instance admins may omit it).',
        'workspace',
      );
    }
  }
  const { range, lines, totals } = await usageReport({ workspaceId, from: q.get('from'), to: q.get('to') });
  return json({
    from: range.from,
    to: range.to,
    workspace: workspaceId ?? null,
    currency: totals.currency,
    totals: { byCategory: totals.byCategory, byCurrency: totals.byCurrency },
    lines: lines.map((l) => ({ ...lineOut(l), workspaceId: l.workspaceId })),
  });
});
