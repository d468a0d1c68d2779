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
import { logPaths, type TLogDetail, type TLogSummary } from './api';

type TDatasetOption = { id: string; name: string; latestVersion: { format: string } | null };
type TCreated = { dataset: { id: string; name: string }; version: { number: number }; added: number };

const NEW = '';

/**
 * "Add to dataset": the selected chats, each answer editable, into a new draft version of a ChatML dataset — the
 * latest version's rows plus these, or a new dataset's first version (POST …/request-logs/add-to-dataset).
 */
export function AddToDatasetDialog({
  logs,
  onClose,
  onDone,
}: {
  logs: TLogSummary[];
  onClose: () => void;
  onDone: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const [answers, setAnswers] = React.useState<Record<string, string> | null>(null);
  const [original, setOriginal] = React.useState<Record<string, string>>({});
  const [datasets, setDatasets] = React.useState<TDatasetOption[]>([]);
  const [target, setTarget] = React.useState(NEW);
  const [name, setName] = React.useState('');
  const [error, setError] = React.useState<{ param: string | null; message: string } | null>(null);
  const [saving, setSaving] = React.useState(false);

  // Full answers (the list shows them cut short) and the ChatML datasets that can take the rows.
  React.useEffect(() => {
    let live = true;
    void Promise.all(logs.map((l) => api<TLogDetail>(logPaths.one(workspace.slug, l.id))))
      .then((full) => {
        if (!live) return;
        const byId = Object.fromEntries(full.map((l) => [l.id, l.answer]));
        setOriginal(byId);
        setAnswers(byId);
      })
      .catch((e: ApiError) => live && setError({ param: null, message: e.message }));
    void api<TList<TDatasetOption>>(logPaths.datasets(workspace.slug)).then(
      (list) =>
        live && setDatasets((list.data ?? []).filter((d) => !d.latestVersion || d.latestVersion.format === 'chatml')),
    );
    return () => {
      live = false;
    };
  }, [logs, workspace.slug]);

  async function submit() {
    if (!answers) return;
    setError(null);
    setSaving(true);
    const edited = Object.fromEntries(Object.entries(answers).filter(([id, text]) => text !== original[id]));
    try {
      const created = await api<TCreated>(logPaths.addToDataset(workspace.slug), {
        method: 'POST',
        body: {
          logIds: logs.map((l) => l.id),
          answers: edited,
          ...(target === NEW ? { datasetName: name } : { datasetId: target }),
        },
      });
      toast({
        title: t('logs.add.done', {
          name: created.dataset.name,
          number: formatNumber(created.version.number, locale),
          n: formatNumber(created.added, locale),
        }),
      });
      onDone();
      router.push(`/w/${workspace.slug}/datasets/${created.dataset.id}`);
    } catch (e) {
      const apiError = e instanceof ApiError ? e : null;
      setError({ param: apiError?.param ?? null, message: apiError?.message ?? String(e) });
    } finally {
      setSaving(false);
    }
  }

  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-h-[90vh] overflow-y-auto sm:max-w-2xl" closeLabel={t('common.close')}>
        <DialogHeader>
          <DialogTitle>{t('logs.add.title', { n: formatNumber(logs.length, locale) })}</DialogTitle>
          <DialogDescription>{t('logs.add.description')}</DialogDescription>
        </DialogHeader>
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <FormField label={t('logs.add.target')}>
            <select
              className="h-9 rounded-md border border-input bg-card px-2 text-sm shadow-xs"
              value={target}
              onChange={(e) => setTarget(e.target.value)}
            >
              <option value={NEW}>{t('logs.add.newDataset')}</option>
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </FormField>
          {target === NEW ? (
            <FormField
              label={t('logs.add.newName')}
              error={error?.param === 'datasetName' || error?.param === 'datasetId' ? error.message : undefined}
            >
              <Input value={name} onChange={(e) => setName(e.target.value)} />
            </FormField>
          ) : null}
          {answers
            ? logs.map((l) => (
                <FormField
                  key={l.id}
                  label={t('logs.add.answerFor', { prompt: l.prompt.slice(0, 80) })}
                  error={error?.param === `answers.${l.id}` ? error.message : undefined}
                >
                  <textarea
                    rows={3}
                    className="w-full resize-y rounded-md border border-input bg-card px-3 py-2 text-sm shadow-xs"
                    value={answers[l.id] ?? ''}
                    onChange={(e) => setAnswers((a) => ({ ...(a ?? {}), [l.id]: e.target.value }))}
                  />
                </FormField>
              ))
            : null}
          {error &&
          !['datasetName', 'datasetId'].includes(error.param ?? '') &&
          !error.param?.startsWith('answers.') ? (
            <p role="alert" className="text-sm font-medium text-destructive">
              {error.message}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={saving} disabled={!answers || (target === NEW && !name.trim())}>
              {t('logs.add.submit')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
