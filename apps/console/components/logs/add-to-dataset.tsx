'use client';

import * as React from 'react';
import { AddToDatasetDialog, type TFieldError } from '@/components/datasets/add-to-dataset-dialog';
import { FormField } from '@/components/ui/form-field';
import { useWorkspace } from '@/components/workspace-context';
import { type ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import { logPaths, type TLogDetail, type TLogSummary } from './api';

/**
 * "Add to dataset" from the Logs page: the selected chats, each answer editable, into a new draft version of a
 * ChatML dataset — the latest version's rows plus these, or a new dataset's first version
 * (POST …/request-logs/add-to-dataset).
 */
export function AddLogsToDatasetDialog({
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
  const { workspace } = useWorkspace();
  const [answers, setAnswers] = React.useState<Record<string, string> | null>(null);
  const [original, setOriginal] = React.useState<Record<string, string>>({});
  const [error, setError] = React.useState<TFieldError | null>(null);

  // Full answers: the list shows them cut short.
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
    return () => {
      live = false;
    };
  }, [logs, workspace.slug]);

  return (
    <AddToDatasetDialog
      title={t('logs.add.title', { n: formatNumber(logs.length, locale) })}
      description={t('logs.add.description')}
      path={logPaths.addToDataset(workspace.slug)}
      chats={() => ({
        logIds: logs.map((l) => l.id),
        answers: Object.fromEntries(Object.entries(answers ?? {}).filter(([id, text]) => text !== original[id])),
      })}
      ready={!!answers}
      shownBy={(param) => param.startsWith('answers.')}
      error={error}
      onError={setError}
      onClose={onClose}
      onDone={onDone}
    >
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
    </AddToDatasetDialog>
  );
}
