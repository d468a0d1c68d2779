'use client';

import { RocketIcon } from 'lucide-react';
import * as React from 'react';
import { Button, type TButtonProps } from '@/components/ui/button';
import { useWorkspace } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';
import type { TDeployment, TModelKind } from './api';
import { DeployDialog } from './deploy-dialog';

/**
 * "Deploy" for any page that shows a model (a job's result, the models page, the deployments list): opens the
 * Deploy dialog with that model chosen. Viewers cannot deploy, so they do not see it.
 */
export function DeployButton({
  model,
  onDeployed,
  variant,
  size,
  label,
}: {
  model?: { id: string; kind: TModelKind; name?: string };
  onDeployed?: (deployment: TDeployment) => void;
  variant?: TButtonProps['variant'];
  size?: TButtonProps['size'];
  label?: string;
}) {
  const t = useT();
  const { workspace } = useWorkspace();
  const [open, setOpen] = React.useState(false);
  if (workspace.role === 'viewer') return null;
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
