'use client';

import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from '@/components/ui/dialog';
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api, type TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';

type TDatasetOption = { id: string; name: string; latestVersion: { format: string } | null };
type TCreated = { dataset: { id: string; name: string }; version: { number: number }; added: number };
export type TFieldError = { param: string | null; message: string };

const NEW = '';

/**
 * "Add to dataset" (issue 16), whatever the chats come from (logs, evaluation rows): the target — a ChatML dataset
 * of the workspace (a new draft version of its latest) or a new dataset by name — then the chats' own fields
 * (`children`, each answer editable), POSTed with `chats()` to `path`; opens the dataset when done. An error whose
 * field `shownBy` the children is left to them; the others show here.
 */
export function AddToDatasetDialog({
  title,
  description,
  path,
  chats,
  ready,
  shownBy,
  error,
  onError,
  onClose,
  onDone,
  children,
}: {
  title: string;
  description: string;
  path: string;
  chats: () => Record<string, unknown>;
  ready: boolean;
  shownBy: (param: string) => boolean;
  error: TFieldError | null;
  onError: (error: TFieldError | null) => void;
  onClose: () => void;
  onDone: () => void;
  children: React.ReactNode;
}) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const [datasets, setDatasets] = React.useState<TDatasetOption[]>([]);
  const [target, setTarget] = React.useState(NEW);
  const [name, setName] = React.useState('');
  const [saving, setSaving] = React.useState(false);

  // The datasets that can take chat rows: ChatML ones, and empty ones.
  React.useEffect(() => {
    let live = true;
    void api<TList<TDatasetOption>>(`/api/workspaces/${encodeURIComponent(workspace.slug)}/datasets`).then(
      (list) =>
        live && setDatasets((list.data ?? []).filter((d) => !d.latestVersion || d.latestVersion.format === 'chatml')),
    );
    return () => {
      live = false;
    };
  }, [workspace.slug]);

  async function submit() {
    onError(null);
    setSaving(true);
    try {
      const created = await api<TCreated>(path, {
        method: 'POST',
        body: { ...chats(), ...(target === NEW ? { datasetName: name } : { datasetId: target }) },
      });
      toast({
        title: t('feedback.done', {
          name: created.dataset.name,
          number: formatNumber(created.version.number, locale),
          n: formatNumber(created.added, locale),
        }),
      });
      onDone();
      router.push(`/w/${workspace.slug}/datasets/${created.dataset.id}`);
    } catch (e) {
      const apiError = e instanceof ApiError ? e : null;
      onError({ param: apiError?.param ?? null, message: apiError?.message ?? String(e) });
    } finally {
      setSaving(false);
    }
  }

  const targetError = error?.param === 'datasetName' || error?.param === 'datasetId' ? error.message : undefined;
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-h-[90vh] overflow-y-auto sm:max-w-2xl" closeLabel={t('common.close')}>
        <DialogHeader>
          <DialogTitle>{title}</DialogTitle>
          <DialogDescription>{description}</DialogDescription>
        </DialogHeader>
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <FormField label={t('feedback.target')} error={target === NEW ? undefined : targetError}>
            <select
              className="h-9 rounded-md border border-input bg-card px-2 text-sm shadow-xs"
              value={target}
              onChange={(e) => setTarget(e.target.value)}
            >
              <option value={NEW}>{t('feedback.newDataset')}</option>
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </FormField>
          {target === NEW ? (
            <FormField label={t('feedback.newName')} error={targetError}>
              <Input value={name} onChange={(e) => setName(e.target.value)} />
            </FormField>
          ) : null}
          {children}
          {error && !targetError && !(error.param && shownBy(error.param)) ? (
            <p role="alert" className="text-sm font-medium text-destructive">
              {error.message}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={saving} disabled={!ready || (target === NEW && !name.trim())}>
              {t('feedback.submit')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
