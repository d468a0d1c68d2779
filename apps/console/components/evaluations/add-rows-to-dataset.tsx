'use client';

import * as React from 'react';
import { AddToDatasetDialog, type TFieldError } from '@/components/datasets/add-to-dataset-dialog';
import { FormField } from '@/components/ui/form-field';
import { useWorkspace } from '@/components/workspace-context';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import { evaluationModelLabel, evaluationPaths, type TEvaluation, type TResultRow } from './api';

/** 'label', or `model:<index>`: which answer a row keeps. */
type TKeep = string;

/** What a row keeps by default: the first model's answer that has no error, else the label. */
function defaultKeep(row: TResultRow): TKeep {
  const ok = row.outputs.find((o) => !o.errorCode);
  return ok ? `model:${ok.modelIndex}` : 'label';
}

function textOf(row: TResultRow, keep: TKeep): string {
  if (keep === 'label') return row.label;
  const index = Number(keep.slice('model:'.length));
  return row.outputs.find((o) => o.modelIndex === index)?.text ?? '';
}

/**
 * "Add to dataset" from an evaluation's results: each selected row's prompt with the answer the member keeps (the
 * label or one model's answer), editable, into a new draft version of a ChatML dataset (POST …/add-to-dataset).
 */
export function AddRowsToDatasetDialog({
  ev,
  rows,
  onClose,
  onDone,
}: {
  ev: TEvaluation;
  rows: TResultRow[];
  onClose: () => void;
  onDone: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const [keep, setKeep] = React.useState<Record<number, TKeep>>(() =>
    Object.fromEntries(rows.map((r) => [r.index, defaultKeep(r)])),
  );
  const [texts, setTexts] = React.useState<Record<number, string>>(() =>
    Object.fromEntries(rows.map((r) => [r.index, textOf(r, defaultKeep(r))])),
  );
  const [error, setError] = React.useState<TFieldError | null>(null);
  const errorOf = (k: number, field: string) => (error?.param === `rows.${k}.${field}` ? error.message : undefined);

  return (
    <AddToDatasetDialog
      title={t('evaluations.detail.add.title', { n: formatNumber(rows.length, locale) })}
      description={t('evaluations.detail.add.description')}
      path={evaluationPaths.addToDataset(workspace.slug, ev.id)}
      chats={() => ({
        rows: rows.map((r) => {
          const k = keep[r.index];
          const text = texts[r.index] ?? '';
          // The answer as stored is sent by reference; an edited one as text.
          const edited = text !== textOf(r, k) ? { text } : {};
          return k === 'label'
            ? { index: r.index, keep: 'label', ...edited }
            : { index: r.index, keep: 'model', modelIndex: Number(k.slice('model:'.length)), ...edited };
        }),
      })}
      ready
      shownBy={(param) => /^rows\.\d+\.(text|modelIndex)$/.test(param)}
      error={error}
      onError={setError}
      onClose={onClose}
      onDone={onDone}
    >
      {rows.map((r, k) => {
        const n = formatNumber(r.index + 1, locale);
        return (
          <div key={r.index} className="grid gap-2 rounded-md border p-3">
            <p className="line-clamp-2 text-xs text-muted-foreground">
              {r.messages.findLast((m) => m.role === 'user')?.content ?? ''}
            </p>
            <FormField label={t('evaluations.detail.add.keep', { n })} error={errorOf(k, 'modelIndex')}>
              <select
                className="h-9 rounded-md border border-input bg-card px-2 text-sm shadow-xs"
                value={keep[r.index]}
                onChange={(e) => {
                  const next = e.target.value;
                  setKeep((all) => ({ ...all, [r.index]: next }));
                  setTexts((all) => ({ ...all, [r.index]: textOf(r, next) }));
                }}
              >
                <option value="label">{t('evaluations.detail.add.keepLabel')}</option>
                {ev.models.map((m) => {
                  const out = r.outputs.find((o) => o.modelIndex === m.index);
                  return (
                    <option key={m.index} value={`model:${m.index}`} disabled={!out || !!out.errorCode}>
                      {t('evaluations.detail.add.keepModel', { model: evaluationModelLabel(m, t, locale) })}
                    </option>
                  );
                })}
              </select>
            </FormField>
            <FormField label={t('evaluations.detail.add.answer', { n })} error={errorOf(k, 'text')}>
              <textarea
                rows={3}
                className="w-full resize-y rounded-md border border-input bg-card px-3 py-2 text-sm shadow-xs"
                value={texts[r.index] ?? ''}
                onChange={(e) => setTexts((all) => ({ ...all, [r.index]: e.target.value }))}
              />
            </FormField>
          </div>
        );
      })}
    </AddToDatasetDialog>
  );
}
