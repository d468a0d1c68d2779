'use client';

import { ArrowLeftIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { BillingDashboard } from '@/components/billing/dashboard';
import { WorkspaceProvider } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';
import type { TMe } from '@/lib/me';

/**
 * The workspace billing dashboard for an instance admin: the same component members see, given the workspace as a
 * viewer (so the budget form is not offered); the billing GET routes let instance admins read, and refuse writes.
 */
export function WorkspaceBillingAsAdmin({ me, slug }: { me: TMe; slug: string }) {
  const t = useT();
  const member = me.workspaces.find((w) => w.slug === slug);
  const value = React.useMemo(
    () => ({ me, workspace: { id: member?.id ?? slug, name: member?.name ?? slug, slug, role: 'viewer' as const } }),
    [me, member, slug],
  );
  return (
    <div className="grid gap-6" data-testid="admin-workspace-billing" data-slug={slug}>
      <Link
        href="/admin/billing"
        className="inline-flex items-center gap-1.5 justify-self-start text-sm text-muted-foreground hover:text-foreground"
      >
        <ArrowLeftIcon className="size-4" aria-hidden />
        {t('adminBilling.allWorkspaces')}
      </Link>
      <WorkspaceProvider value={value}>
        <BillingDashboard />
      </WorkspaceProvider>
    </div>
  );
}
