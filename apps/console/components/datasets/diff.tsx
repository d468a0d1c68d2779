'use client';

import * as React from 'react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { api } from '@/lib/api-client';
import { useT } from '@/lib/i18n/client';
import { datasetPaths, type TRow, type TVersion } from './api';

type TDiff = {
  base: string | null;
  counts: { added: number; removed: number; changed: number };
  unchanged: number;
  added: { index: number; row: TRow }[];
  removed: { index: number; row: TRow }[];
  changed: { indexA: number; indexB: number; before: TRow; after: TRow }[];
  unavailable?: string;
};

const show = (row: TRow) => JSON.stringify(row, null, 1);

/** Rows added, removed and changed against another version (default: the version it was made from). */
export function DiffPanel({
  slug,
  datasetId,
  version,
  versions,
}: {
  slug: string;
  datasetId: string;
  version: TVersion;
  versions: TVersion[];
}) {
  const t = useT();
  const others = versions.filter((v) => v.id !== version.id);
  const [base, setBase] = React.useState<string>(version.parentVersionId ?? others[0]?.id ?? '');
  const [diff, setDiff] = React.useState<TDiff | null>(null);
  React.useEffect(() => {
    if (!base) return;
    let live = true;
    api<TDiff>(`${datasetPaths.diff(slug, datasetId, version.id)}?base=${encodeURIComponent(base)}`).then(
      (d) => live && setDiff(d),
      () => live && setDiff(null),
    );
    return () => {
      live = false;
    };
  }, [slug, datasetId, version.id, base]);
  if (others.length === 0) return null;
  return (
    <Card>
      <CardHeader className="flex flex-row items-center justify-between gap-2">
        <CardTitle>{t('datasets.diffTitle')}</CardTitle>
        <label className="flex items-center gap-2 text-sm">
          {t('datasets.compareWith')}
          <select
            className="rounded-md border bg-background px-2 py-1 text-sm"
            value={base}
            onChange={(e) => setBase(e.target.value)}
          >
            {others.map((v) => (
              <option key={v.id} value={v.id}>
                {t('datasets.versionN', { n: v.number })}
              </option>
            ))}
          </select>
        </label>
      </CardHeader>
      <CardContent className="space-y-3 text-sm">
        {diff?.unavailable ? <p className="text-destructive">{diff.unavailable}</p> : null}
        {diff && !diff.unavailable ? (
          <>
            <p data-testid="diff-counts">
              {t('datasets.diffCounts', {
                added: diff.counts.added,
                removed: diff.counts.removed,
                changed: diff.counts.changed,
                unchanged: diff.unchanged,
              })}
            </p>
            <ul className="space-y-2 font-mono text-xs">
              {diff.removed.map((r) => (
                <li key={`r${r.index}`} className="rounded bg-red-500/10 p-2 whitespace-pre-wrap">
                  {`- #${r.index + 1} ${show(r.row)}`}
                </li>
              ))}
              {diff.added.map((r) => (
                <li key={`a${r.index}`} className="rounded bg-emerald-500/10 p-2 whitespace-pre-wrap">
                  {`+ #${r.index + 1} ${show(r.row)}`}
                </li>
              ))}
              {diff.changed.map((c) => (
                <li key={`c${c.indexB}`} className="grid gap-1 rounded bg-amber-500/10 p-2 whitespace-pre-wrap">
                  <span>{`~ #${c.indexA + 1} ${show(c.before)}`}</span>
                  <span>{`→ #${c.indexB + 1} ${show(c.after)}`}</span>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}
