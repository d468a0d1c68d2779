'use client';

import { RocketIcon } from 'lucide-react';
import * as React from 'react';
import { RoleNotice } from '@/components/role-gate';
import { Button, type TButtonProps } from '@/components/ui/button';
import { useWorkspace } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';
import { can } from '@/lib/roles';
import type { TDeployment, TModelKind } from './api';
import { DeployDialog } from './deploy-dialog';

/**
 * "Deploy" for any page that shows a model (a job's result, the models page, the deployments list): opens the
 * Deploy dialog with that model chosen. Viewers cannot deploy, so they do not see it (or, with `explain`, see why).
 */
export function DeployButton({
  model,
  onDeployed,
  variant,
  size,
  label,
  explain,
}: {
  model?: { id: string; kind: TModelKind; name?: string };
  onDeployed?: (deployment: TDeployment) => void;
  variant?: TButtonProps['variant'];
  size?: TButtonProps['size'];
  label?: string;
  /** Where the button is the page's main action: a viewer sees why it is missing instead of nothing. */
  explain?: boolean;
}) {
  const t = useT();
  const { workspace } = useWorkspace();
  const [open, setOpen] = React.useState(false);
  if (!can(workspace.role, 'deploy')) return explain ? <RoleNotice action="deploy" /> : null;
  return (
    <>
      <Button variant={variant} size={size} onClick={() => setOpen(true)}>
        <RocketIcon aria-hidden />
        {label ?? t('deployments.deploy')}
      </Button>
      {open ? <DeployDialog open={open} onOpenChange={setOpen} initialModel={model} onDeployed={onDeployed} /> : null}
    </>
  );
}
