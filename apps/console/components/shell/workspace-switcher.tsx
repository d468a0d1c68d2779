'use client';

import { CheckIcon, ChevronsUpDownIcon, PlusIcon } from 'lucide-react';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu';
import { CreateWorkspaceForm } from '@/components/workspace/create-workspace-form';
import { useWorkspace } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';

function WorkspaceAvatar({ name }: { name: string }) {
  return (
    <span className="flex size-7 shrink-0 items-center justify-center rounded-md bg-gradient-to-br from-primary to-[oklch(0.6_0.18_300)] text-xs font-semibold text-primary-foreground uppercase">
      {name.trim().charAt(0) || '?'}
    </span>
  );
}

export function WorkspaceSwitcher() {
  const t = useT();
  const router = useRouter();
  const { workspace, me } = useWorkspace();
  const [creating, setCreating] = React.useState(false);
  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger
          aria-label={t('workspace.switcherLabel')}
          className="flex w-full items-center gap-2.5 rounded-lg border bg-card px-2 py-1.5 text-left shadow-xs transition-colors outline-none hover:bg-accent focus-visible:ring-[3px] focus-visible:ring-ring/40"
        >
          <WorkspaceAvatar name={workspace.name} />
          <span className="min-w-0 flex-1">
            <span className="block truncate text-sm font-semibold">{workspace.name}</span>
            <span className="block truncate text-xs text-muted-foreground">{t(`roles.${workspace.role}`)}</span>
          </span>
          <ChevronsUpDownIcon className="size-4 shrink-0 text-muted-foreground" aria-hidden />
        </DropdownMenuTrigger>
        <DropdownMenuContent align="start" className="w-64">
          <DropdownMenuLabel>{t('workspace.yourWorkspaces')}</DropdownMenuLabel>
          {me.workspaces.map((w) => (
            <DropdownMenuItem key={w.id} onSelect={() => router.push(`/w/${w.slug}/datasets`)}>
              <WorkspaceAvatar name={w.name} />
              <span className="min-w-0 flex-1 truncate">{w.name}</span>
              {w.slug === workspace.slug ? <CheckIcon className="ml-auto" aria-hidden /> : null}
            </DropdownMenuItem>
          ))}
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => setCreating(true)}>
            <PlusIcon aria-hidden />
            {t('workspace.newWorkspace')}
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <Dialog open={creating} onOpenChange={setCreating}>
        <DialogContent closeLabel={t('common.close')}>
          <DialogHeader>
            <DialogTitle>{t('workspace.createTitle')}</DialogTitle>
            <DialogDescription>{t('workspace.createDescription')}</DialogDescription>
          </DialogHeader>
          <CreateWorkspaceForm submitLabel={t('common.create')} onCancel={() => setCreating(false)} />
        </DialogContent>
      </Dialog>
    </>
  );
}
