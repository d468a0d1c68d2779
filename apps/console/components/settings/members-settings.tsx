'use client';

import { LinkIcon, Trash2Icon, UsersIcon } from 'lucide-react';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { CopyField } from '@/components/copy-field';
import { ResourceTable } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api } from '@/lib/api-client';
import { apiPaths } from '@/lib/api-paths';
import { validate } from '@/lib/forms';
import { useLocale, useT } from '@/lib/i18n/client';
import { type TWorkspaceRole, WORKSPACE_ROLES, ZCreateInvitation } from '@/lib/schemas';
import { useList } from '@/lib/use-list';
import { formatDate, initials } from '@/lib/utils';
import { apiErrorMessage } from './errors';
import { canManage } from './general-settings';

type TMember = { id: string; userId: string; name: string; email: string; role: TWorkspaceRole; createdAt: string };
type TInvitation = { id: string; email: string; role: TWorkspaceRole; status: string; url: string; createdAt: string };

// Strongest first in menus, the order people read roles in.
const ROLE_OPTIONS = [...WORKSPACE_ROLES].reverse();

function RoleSelect({
  value,
  onChange,
  disabled,
  label,
  allowOwner,
}: {
  value: TWorkspaceRole;
  onChange: (role: TWorkspaceRole) => void;
  disabled?: boolean;
  label: string;
  allowOwner: boolean;
}) {
  const t = useT();
  return (
    <Select value={value} onValueChange={(v) => onChange(v as TWorkspaceRole)} disabled={disabled}>
      <SelectTrigger size="sm" className="w-36" aria-label={label}>
        <SelectValue />
      </SelectTrigger>
      <SelectContent>
        {ROLE_OPTIONS.filter((r) => allowOwner || r !== 'owner' || r === value).map((role) => (
          <SelectItem key={role} value={role}>
            {t(`roles.${role}`)}
          </SelectItem>
        ))}
      </SelectContent>
    </Select>
  );
}

function InviteCard({ onInvited }: { onInvited: () => void }) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const [email, setEmail] = React.useState('');
  const [role, setRole] = React.useState<TWorkspaceRole>('developer');
  const [errors, setErrors] = React.useState<TFieldErrors>({});
  const [pending, setPending] = React.useState(false);
  const [link, setLink] = React.useState<string | null>(null);

  async function onSubmit(event: React.FormEvent) {
    event.preventDefault();
    const result = validate(ZCreateInvitation, { email, role }, locale, { email: t('auth.invalidEmail') });
    if (!result.ok) return setErrors(result.errors);
    setErrors({});
    setPending(true);
    try {
      const invitation = await api<TInvitation>(apiPaths.invitations(workspace.slug), {
        method: 'POST',
        body: result.data,
      });
      setLink(invitation.url ?? `${window.location.origin}/invite/${invitation.id}`);
      setEmail('');
      toast({ title: t('settings.members.inviteCreated') });
      onInvited();
    } catch (error) {
      setErrors({ email: apiErrorMessage(error, t, locale) });
    } finally {
      setPending(false);
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <LinkIcon className="size-4 text-muted-foreground" aria-hidden />
          {t('settings.members.inviteTitle')}
        </CardTitle>
        <CardDescription>{t('settings.members.inviteDescription')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <form onSubmit={onSubmit} noValidate className="grid items-start gap-3 sm:grid-cols-[1fr_auto_auto]">
          <FormField label={t('settings.members.inviteEmail')} error={errors.email}>
            <Input
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              placeholder={t('auth.emailPlaceholder')}
            />
          </FormField>
          <div className="grid gap-2">
            <span className="text-sm font-medium">{t('settings.members.inviteRole')}</span>
            <RoleSelect
              value={role}
              onChange={setRole}
              label={t('settings.members.inviteRole')}
              allowOwner={workspace.role === 'owner'}
            />
          </div>
          <Button type="submit" loading={pending} className="sm:mt-[1.375rem]">
            {t('settings.members.inviteSubmit')}
          </Button>
        </form>
        {link ? (
          <div className="grid gap-2 rounded-lg border bg-muted/40 p-3">
            <span className="text-xs font-medium text-muted-foreground">{t('settings.members.inviteLinkLabel')}</span>
            <CopyField value={link} label={t('settings.members.inviteLinkLabel')} />
          </div>
        ) : null}
      </CardContent>
    </Card>
  );
}

function PendingInvitations() {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TInvitation>(apiPaths.invitations(workspace.slug));
  if (state.status !== 'ready' || state.items.length === 0) return null;
  return (
    <section className="grid gap-3">
      <h3 className="text-sm font-semibold">{t('settings.members.pendingTitle')}</h3>
      <ResourceTable
        label={t('settings.members.pendingTitle')}
        state={state}
        onRetry={reload}
        empty={null}
        columns={[
          { header: t('settings.members.inviteEmail'), cell: (i) => i.email },
          {
            header: t('settings.members.colRole'),
            cell: (i) => <Badge variant="secondary">{t(`roles.${i.role}`)}</Badge>,
          },
          { header: t('common.created'), cell: (i) => formatDate(i.createdAt, locale) },
          {
            header: t('common.actions'),
            className: 'text-right',
            cell: (i) => (
              <div className="flex justify-end gap-1">
                <Button
                  size="sm"
                  variant="ghost"
                  onClick={() =>
                    navigator.clipboard?.writeText(i.url).then(() => toast({ title: t('common.copiedToClipboard') }))
                  }
                >
                  {t('common.copy')}
                </Button>
                <Button
                  size="sm"
                  variant="ghost"
                  className="text-destructive hover:text-destructive"
                  onClick={async () => {
                    try {
                      await api(apiPaths.invitation(workspace.slug, i.id), { method: 'DELETE' });
                      toast({ title: t('settings.members.revoked') });
                      reload();
                    } catch (error) {
                      toast({ title: apiErrorMessage(error, t, locale), variant: 'error' });
                    }
                  }}
                >
                  {t('settings.members.revoke')}
                </Button>
              </div>
            ),
          },
        ]}
      />
    </section>
  );
}

export function MembersSettings() {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace, me } = useWorkspace();
  const { state, reload } = useList<TMember>(apiPaths.members(workspace.slug));
  const [removing, setRemoving] = React.useState<TMember | null>(null);
  const [invites, setInvites] = React.useState(0);
  const manage = canManage(workspace.role);

  async function changeRole(member: TMember, role: TWorkspaceRole) {
    try {
      await api(apiPaths.member(workspace.slug, member.id), { method: 'PATCH', body: { role } });
      toast({ title: t('settings.members.roleChanged') });
    } catch (error) {
      toast({ title: apiErrorMessage(error, t, locale), variant: 'error' });
    }
    reload();
  }

  return (
    <div className="grid gap-8">
      {manage ? <InviteCard onInvited={() => setInvites((v) => v + 1)} /> : null}
      {manage ? <PendingInvitations key={invites} /> : null}
      <section className="grid gap-3">
        <div>
          <h3 className="text-sm font-semibold">{t('settings.members.title')}</h3>
          <p className="text-sm text-muted-foreground">{t('settings.members.description')}</p>
        </div>
        <ResourceTable
          label={t('settings.members.title')}
          state={state}
          onRetry={reload}
          empty={
            <EmptyState
              icon={UsersIcon}
              title={t('settings.members.emptyTitle')}
              description={t('settings.members.emptyDescription')}
            />
          }
          columns={[
            {
              header: t('settings.members.colMember'),
              cell: (m) => (
                <div className="flex items-center gap-3">
                  <span className="flex size-8 items-center justify-center rounded-full bg-secondary text-xs font-semibold">
                    {initials(m.name || m.email)}
                  </span>
                  <div>
                    <p className="font-medium">
                      {m.name}
                      {m.userId === me.user.id ? (
                        <span className="ml-2 text-xs font-normal text-muted-foreground">
                          ({t('settings.members.you')})
                        </span>
                      ) : null}
                    </p>
                    <p className="text-xs text-muted-foreground">{m.email}</p>
                  </div>
                </div>
              ),
            },
            {
              header: t('settings.members.colRole'),
              cell: (m) =>
                manage && m.userId !== me.user.id ? (
                  <RoleSelect
                    value={m.role}
                    onChange={(role) => changeRole(m, role)}
                    label={`${t('settings.members.changeRole')}: ${m.name}`}
                    allowOwner={workspace.role === 'owner'}
                    disabled={m.role === 'owner' && workspace.role !== 'owner'}
                  />
                ) : (
                  <Badge variant="secondary">{t(`roles.${m.role}`)}</Badge>
                ),
            },
            { header: t('settings.members.colJoined'), cell: (m) => formatDate(m.createdAt, locale) },
            {
              header: t('common.actions'),
              className: 'text-right',
              cell: (m) =>
                manage && m.userId !== me.user.id ? (
                  <Button
                    size="icon-sm"
                    variant="ghost"
                    aria-label={`${t('common.remove')}: ${m.name}`}
                    onClick={() => setRemoving(m)}
                  >
                    <Trash2Icon aria-hidden />
                  </Button>
                ) : null,
            },
          ]}
        />
      </section>
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => !open && setRemoving(null)}
        title={t('settings.members.removeTitle', { name: removing?.name ?? '' })}
        description={t('settings.members.removeDescription')}
        confirmLabel={t('common.remove')}
        onConfirm={async () => {
          if (!removing) return;
          try {
            await api(apiPaths.member(workspace.slug, removing.id), { method: 'DELETE' });
            toast({ title: t('settings.members.removed') });
          } catch (error) {
            toast({ title: apiErrorMessage(error, t, locale), variant: 'error' });
          }
          reload();
        }}
      />
    </div>
  );
}
