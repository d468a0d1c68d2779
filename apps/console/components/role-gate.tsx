'use client';

import { LockIcon } from 'lucide-react';
import type * as React from 'react';
import { Card, CardContent } from '@/components/ui/card';
import { useWorkspace } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';
import { ACTION_MIN_ROLE, can, type TAction } from '@/lib/roles';
import { cn } from '@/lib/utils';

/** The sentence that says why an action is not offered to this member's role. */
export function RoleNotice({ action, className }: { action: TAction; className?: string }) {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <p
      data-testid="role-notice"
      className={cn('flex max-w-md items-start gap-2 text-sm text-muted-foreground', className)}
    >
      <LockIcon className="mt-0.5 size-4 shrink-0" aria-hidden />
      <span>
        {t(`roleGate.${action}`, {
          role: t(`roles.${workspace.role}`),
          needed: t(`roles.${ACTION_MIN_ROLE[action]}`),
        })}
      </span>
    </p>
  );
}

/**
 * Shows `children` (a button, or a whole form) only to members whose role may do `action`; everyone else sees why
 * instead, before they fill in a form that would fail on submit. `page`: the notice stands in for a whole page.
 */
export function RoleGate({ action, page, children }: { action: TAction; page?: boolean; children: React.ReactNode }) {
  const { workspace } = useWorkspace();
  if (can(workspace.role, action)) return children;
  if (!page) return <RoleNotice action={action} />;
  return (
    <Card>
      <CardContent className="pt-6">
        <RoleNotice action={action} />
      </CardContent>
    </Card>
  );
}
