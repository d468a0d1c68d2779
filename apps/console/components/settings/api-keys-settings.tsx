'use client';

import { KeyRoundIcon, PlusIcon } from 'lucide-react';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { CopyField } from '@/components/copy-field';
import { ResourceTable } from '@/components/resource-table';
import { Button } from '@/components/ui/button';
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from '@/components/ui/dialog';
import { EmptyState } from '@/components/ui/empty-state';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api } from '@/lib/api-client';
import { apiPaths } from '@/lib/api-paths';
import { validate } from '@/lib/forms';
import { useLocale, useT } from '@/lib/i18n/client';
import { ZCreateApiKey } from '@/lib/schemas';
import { useList } from '@/lib/use-list';
import { formatDate } from '@/lib/utils';
import { apiErrorMessage } from './errors';
import { canManage } from './general-settings';

type TApiKey = { id: string; name: string | null; start: string | null; createdAt: string; lastUsedAt: string | null };

/** Create -> the key is shown exactly once, with a copy button, in the same dialog. */
function CreateKeyDialog({
  open,
  onOpenChange,
  onCreated,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  onCreated: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const [name, setName] = React.useState('');
  const [errors, setErrors] = React.useState<TFieldErrors>({});
  const [pending, setPending] = React.useState(false);
  const [secret, setSecret] = React.useState<string | null>(null);

  function close(next: boolean) {
    onOpenChange(next);
    if (!next) {
      // Forget the key as soon as the dialog closes: it is never shown again.
      setSecret(null);
      setName('');
      setErrors({});
    }
  }

  async function onSubmit(event: React.FormEvent) {
    event.preventDefault();
    const result = validate(ZCreateApiKey, { name }, locale, { name: t('common.required') });
    if (!result.ok) return setErrors(result.errors);
    setErrors({});
    setPending(true);
    try {
      const created = await api<{ key: string }>(apiPaths.apiKeys(workspace.slug), {
        method: 'POST',
        body: result.data,
      });
      setSecret(created.key);
      onCreated();
    } catch (error) {
      setErrors({ name: apiErrorMessage(error, t, locale) });
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent closeLabel={t('common.close')}>
        {secret ? (
          <>
            <DialogHeader>
              <DialogTitle>{t('settings.apiKeys.createdTitle')}</DialogTitle>
              <DialogDescription>{t('settings.apiKeys.createdDescription')}</DialogDescription>
            </DialogHeader>
            <CopyField value={secret} label={t('settings.apiKeys.colKey')} />
            <DialogFooter>
              <Button onClick={() => close(false)}>{t('settings.apiKeys.done')}</Button>
            </DialogFooter>
          </>
        ) : (
          <form onSubmit={onSubmit} noValidate className="grid gap-4">
            <DialogHeader>
              <DialogTitle>{t('settings.apiKeys.createTitle')}</DialogTitle>
              <DialogDescription>{t('settings.apiKeys.createDescription')}</DialogDescription>
            </DialogHeader>
            <FormField label={t('common.name')} error={errors.name}>
              <Input
                value={name}
                autoFocus
                onChange={(e) => setName(e.target.value)}
                placeholder={t('settings.apiKeys.namePlaceholder')}
              />
            </FormField>
            <DialogFooter>
              <Button type="button" variant="outline" onClick={() => close(false)}>
                {t('common.cancel')}
              </Button>
              <Button type="submit" loading={pending}>
                {t('common.create')}
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

export function ApiKeysSettings() {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const manage = canManage(workspace.role);
  const { state, reload } = useList<TApiKey>(apiPaths.apiKeys(workspace.slug));
  const [creating, setCreating] = React.useState(false);
  const [revoking, setRevoking] = React.useState<TApiKey | null>(null);

  if (!manage) {
    return <EmptyState icon={KeyRoundIcon} title={t('settings.apiKeys.title')} description={t('errors.forbidden')} />;
  }

  const createButton = (
    <Button onClick={() => setCreating(true)}>
      <PlusIcon aria-hidden />
      {t('settings.apiKeys.create')}
    </Button>
  );

  return (
    <div className="grid gap-4">
      <div className="flex items-end justify-between gap-4">
        <div>
          <h3 className="text-sm font-semibold">{t('settings.apiKeys.title')}</h3>
          <p className="text-sm text-muted-foreground">{t('settings.apiKeys.description')}</p>
        </div>
        {state.status === 'ready' && state.items.length > 0 ? createButton : null}
      </div>
      <ResourceTable
        label={t('settings.apiKeys.title')}
        state={state}
        onRetry={reload}
        empty={
          <EmptyState
            icon={KeyRoundIcon}
            title={t('settings.apiKeys.emptyTitle')}
            description={t('settings.apiKeys.emptyDescription')}
            action={createButton}
          />
        }
        columns={[
          { header: t('settings.apiKeys.colName'), cell: (k) => <span className="font-medium">{k.name ?? '—'}</span> },
          {
            header: t('settings.apiKeys.colKey'),
            cell: (k) => (
              <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs">{k.start ? `${k.start}…` : '—'}</code>
            ),
          },
          {
            header: t('settings.apiKeys.colLastUsed'),
            cell: (k) => (k.lastUsedAt ? formatDate(k.lastUsedAt, locale) : t('common.never')),
          },
          { header: t('settings.apiKeys.colCreated'), cell: (k) => formatDate(k.createdAt, locale) },
          {
            header: t('common.actions'),
            className: 'text-right',
            cell: (k) => (
              <Button
                size="sm"
                variant="ghost"
                className="text-destructive hover:text-destructive"
                onClick={() => setRevoking(k)}
              >
                {t('settings.apiKeys.revoke')}
              </Button>
            ),
          },
        ]}
      />
      <CreateKeyDialog open={creating} onOpenChange={setCreating} onCreated={reload} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={t('settings.apiKeys.revokeTitle', { name: revoking?.name ?? revoking?.start ?? '' })}
        description={t('settings.apiKeys.revokeDescription')}
        confirmLabel={t('settings.apiKeys.revoke')}
        onConfirm={async () => {
          if (!revoking) return;
          try {
            await api(apiPaths.apiKey(workspace.slug, revoking.id), { method: 'DELETE' });
            toast({ title: t('settings.apiKeys.revoked') });
          } catch (error) {
            toast({ title: apiErrorMessage(error, t, locale), variant: 'error' });
          }
          reload();
        }}
      />
    </div>
  );
}
