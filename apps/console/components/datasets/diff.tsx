'use client';

import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { cn, formatNumber } from '@/lib/utils';
import { datasetPaths, type TRow, type TVersion } from './api';
import { Pager } from './pager';

type TKind = 'changed' | 'added' | 'removed';
type TFieldChange = { path: string; before?: unknown; after?: unknown };
type TDiffPage = {
  base: string | null;
  offset: number;
  limit: number;
  counts: { added: number; removed: number; changed: number };
  unchanged: number;
  invalidRows?: { base: number; version: number };
  added: { index: number; row: TRow }[];
  removed: { index: number; row: TRow }[];
  changed: { indexA: number; indexB: number; fields: TFieldChange[]; fieldsTruncated: boolean }[];
  unavailable?: string;
};

const PAGE = 20;
const KINDS: readonly TKind[] = ['changed', 'added', 'removed'];

/** A field's value as text: strings as they are, anything else as compact JSON. */
function Value({ value, tone }: { value: unknown; tone: 'before' | 'after' }) {
  const t = useT();
  if (value === undefined) return <span className="text-muted-foreground italic">{t('datasetDiff.none')}</span>;
  return (
    <span
      className={cn(
        'rounded px-1 whitespace-pre-wrap',
        tone === 'before' ? 'bg-red-500/10 line-through decoration-red-500/40' : 'bg-emerald-500/10',
      )}
    >
      {typeof value === 'string' ? value : JSON.stringify(value)}
    </span>
  );
}

/** A whole row (added or removed) as its turns, `role: content`, rather than JSON. */
function RowTurns({ row }: { row: TRow }) {
  const turns: { role: string; content: unknown }[] = Array.isArray(row.messages)
    ? row.messages
    : row.input && Array.isArray(row.input.messages)
      ? [
          ...row.input.messages,
          ...(row.preferred_output ?? []).map((m: { content: unknown }) => ({ role: '✓', content: m.content })),
          ...(row.non_preferred_output ?? []).map((m: { content: unknown }) => ({ role: '✗', content: m.content })),
        ]
      : [{ role: 'text', content: row.text ?? JSON.stringify(row) }];
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-2 gap-y-0.5">
      {turns.map((m, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: turns are positional
        <React.Fragment key={i}>
          <dt className="font-medium text-muted-foreground">{m.role}</dt>
          <dd className="whitespace-pre-wrap">
            {typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? null)}
          </dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

/**
 * Rows changed, added and removed against another version (default: the one it was made from), one kind at a
 * time, 20 rows a page; a changed row shows only the fields that changed, before → after (issue 13, item 7).
 */
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
  const locale = useLocale();
  const others = versions.filter((v) => v.id !== version.id);
  const [base, setBase] = React.useState<string>(version.parentVersionId ?? others[0]?.id ?? '');
  // Changed rows first; when there are none, the first kind that has rows (until the user picks one).
  const [picked, setPicked] = React.useState<TKind | null>(null);
  const kind: TKind = picked ?? 'changed';
  const [offset, setOffset] = React.useState(0);
  const [diff, setDiff] = React.useState<TDiffPage | null>(null);
  React.useEffect(() => {
    if (!base) return;
    let live = true;
    api<TDiffPage>(datasetPaths.diff(slug, datasetId, version.id, { base, kind, offset, limit: PAGE })).then(
      (d) => {
        if (!live) return;
        setDiff(d);
        if (!picked && d.counts && d.counts.changed === 0) {
          const first = KINDS.find((k) => d.counts[k] > 0);
          if (first && first !== 'changed') setPicked(first);
        }
      },
      () => live && setDiff(null),
    );
    return () => {
      live = false;
    };
  }, [slug, datasetId, version.id, base, kind, offset, picked]);
  if (others.length === 0) return null;
  const total = diff?.counts[kind] ?? 0;
  return (
    <Card>
      <CardHeader className="flex flex-row items-center justify-between gap-2">
        <CardTitle>{t('datasets.diffTitle')}</CardTitle>
        <label className="flex items-center gap-2 text-sm">
          {t('datasets.compareWith')}
          <select
            className="rounded-md border bg-background px-2 py-1 text-sm"
            value={base}
            onChange={(e) => {
              setBase(e.target.value);
              setPicked(null);
              setOffset(0);
            }}
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
                added: formatNumber(diff.counts.added, locale),
                removed: formatNumber(diff.counts.removed, locale),
                changed: formatNumber(diff.counts.changed, locale),
                unchanged: formatNumber(diff.unchanged, locale),
              })}
            </p>
            {diff.invalidRows && (diff.invalidRows.base > 0 || diff.invalidRows.version > 0) ? (
              <p className="text-xs text-muted-foreground" data-testid="diff-invalid">
                {t('datasetDiff.invalidRows', { base: diff.invalidRows.base, version: diff.invalidRows.version })}
              </p>
            ) : null}
            <div className="flex flex-wrap gap-1" role="tablist" aria-label={t('datasets.diffTitle')}>
              {KINDS.map((k) => (
                <Button
                  key={k}
                  size="sm"
                  role="tab"
                  aria-selected={k === kind}
                  variant={k === kind ? 'secondary' : 'ghost'}
                  onClick={() => {
                    setPicked(k);
                    setOffset(0);
                  }}
                >
                  {t(`datasetDiff.${k}`, { count: formatNumber(diff.counts[k], locale) })}
                </Button>
              ))}
            </div>
            {total === 0 ? <p className="text-muted-foreground">{t('datasetDiff.empty')}</p> : null}
            <ul className="space-y-2 text-xs" data-testid="diff-rows">
              {kind === 'changed'
                ? diff.changed.map((c) => (
                    <li key={`c${c.indexB}`} className="space-y-1 rounded border border-amber-500/30 p-2">
                      <Badge variant="outline">
                        {c.indexA === c.indexB
                          ? t('datasets.rowNumber', { n: c.indexB + 1 })
                          : t('datasetDiff.moved', { a: c.indexA + 1, b: c.indexB + 1 })}
                      </Badge>
                      <ul className="space-y-1">
                        {c.fields.map((f) => (
                          <li key={f.path} className="grid gap-0.5" data-testid="diff-field">
                            <code className="text-muted-foreground">{f.path}</code>
                            <span>
                              <Value value={f.before} tone="before" /> → <Value value={f.after} tone="after" />
                            </span>
                          </li>
                        ))}
                      </ul>
                      {c.fieldsTruncated ? (
                        <p className="text-muted-foreground">{t('datasetDiff.moreFields')}</p>
                      ) : null}
                    </li>
                  ))
                : (kind === 'added' ? diff.added : diff.removed).map((r) => (
                    <li
                      key={`${kind}${r.index}`}
                      className={cn(
                        'space-y-1 rounded border p-2',
                        kind === 'added' ? 'border-emerald-500/30' : 'border-red-500/30',
                      )}
                    >
                      <Badge variant="outline">{t('datasets.rowNumber', { n: r.index + 1 })}</Badge>
                      <RowTurns row={r.row} />
                    </li>
                  ))}
            </ul>
            {total > PAGE ? (
              <Pager offset={offset} pageSize={PAGE} total={total} onOffset={setOffset} testId="diff-page" />
            ) : null}
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}
