'use client';

import * as React from 'react';
import { ApiError, api } from '@/lib/api-client';
import { datasetPaths, invalidCount, type TEdited, type TVersion } from './api';

/**
 * Saves an edit of `version` as a new version. When the version was imported before rows with errors were kept,
 * the API refuses (409, param confirmDroppedRows) rather than lose them silently: `confirmDrop` then holds how many
 * rows the new version would lack, and `confirm()` resends the edit with that count.
 */
export function useEdit(
  slug: string,
  datasetId: string,
  version: TVersion,
  onNewVersion: (id: string, edited?: TEdited) => void,
) {
  const [saving, setSaving] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [confirmDrop, setConfirmDrop] = React.useState<{ count: number; body: Record<string, unknown> } | null>(null);

  const save = React.useCallback(
    async (body: Record<string, unknown>): Promise<boolean> => {
      setSaving(true);
      setError(null);
      try {
        const created = await api<TEdited>(datasetPaths.edits(slug, datasetId, version.id), { method: 'POST', body });
        setConfirmDrop(null);
        onNewVersion(created.id, created);
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409 && e.param === 'confirmDroppedRows') {
          setConfirmDrop({ count: invalidCount(version), body });
        } else setError(e instanceof ApiError ? e.message : String(e));
        return false;
      } finally {
        setSaving(false);
      }
    },
    [slug, datasetId, version, onNewVersion],
  );

  const confirm = React.useCallback(async () => {
    if (!confirmDrop) return false;
    return save({ ...confirmDrop.body, confirmDroppedRows: confirmDrop.count });
  }, [confirmDrop, save]);

  return { save, saving, error, setError, confirmDrop, confirm, cancelConfirm: () => setConfirmDrop(null) };
}
