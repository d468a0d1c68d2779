'use client';

import { PencilIcon, Trash2Icon } from 'lucide-react';
import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from '@/components/ui/dialog';
import { api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { datasetDetailText, datasetProblemText } from '@/lib/i18n/domain';
import { formatNumber } from '@/lib/utils';
import { datasetPaths, invalidCount, type TEdited, type TInvalidPage, type TInvalidRow, type TVersion } from './api';
import { Pager } from './pager';
import { useEdit } from './use-edit';

const PAGE = 10;

/** The row as the user wrote it, pretty-printed when it is JSON (a broken row is shown as it is). */
function pretty(text: string | null): string {
  if (text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function Problems({ row }: { row: TInvalidRow }) {
  const t = useT();
  return (
    <ul className="space-y-1 text-sm" data-testid="invalid-row-problems">
      {row.problems.map((p, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a row's problems are a fixed list, never reordered
        <li key={i}>
          <span className="flex flex-wrap items-center gap-2">
            <Badge variant={p.severity === 'error' ? 'destructive' : 'secondary'}>
              {p.severity === 'error' ? t('datasets.error') : t('datasets.warning')}
            </Badge>
            <code className="font-medium">{p.code}</code>
            {p.field ? (
              <span className="text-xs text-muted-foreground">{t('datasetEditor.field', { field: p.field })}</span>
            ) : null}
            {p.detail ? <span className="text-xs text-muted-foreground">{datasetDetailText(t, p)}</span> : null}
          </span>
          <span className="block text-xs">{datasetProblemText(t, p.code, p.message)}</span>
        </li>
      ))}
    </ul>
  );
}

/** Asks before an edit makes a version without the rows with errors that an old import never stored. */
export function ConfirmDropDialog({
  count,
  versionNumber,
  saving,
  onConfirm,
  onCancel,
}: {
  count: number | null;
  versionNumber: number;
  saving: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  return (
    <Dialog open={count !== null} onOpenChange={(open) => !open && onCancel()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{t('datasetEditor.confirmDropTitle')}</DialogTitle>
          <DialogDescription>
            {t('datasetEditor.confirmDropText', { n: versionNumber, count: count ?? 0 })}
          </DialogDescription>
        </DialogHeader>
        <DialogFooter>
          <Button variant="outline" onClick={onCancel}>
            {t('common.cancel')}
          </Button>
          <Button variant="destructive" onClick={onConfirm} loading={saving}>
            {t('datasetEditor.confirmDropButton', { count: count ?? 0 })}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

/**
 * The rows of a version that have errors, with their line and problems (issue 13, item 6). A developer fixes a
 * row in place or deletes it; either makes a new version that keeps every other row, these included.
 */
export function InvalidRowsPanel({
  slug,
  datasetId,
  version,
  canWrite,
  onNewVersion,
}: {
  slug: string;
  datasetId: string;
  version: TVersion;
  canWrite: boolean;
  onNewVersion: (id: string, edited?: TEdited) => void;
}) {
  const t = useT();
  const locale = useLocale();
  const count = invalidCount(version);
  const [offset, setOffset] = React.useState(0);
  const [page, setPage] = React.useState<TInvalidPage | null>(null);
  const [fixing, setFixing] = React.useState<{ row: TInvalidRow; text: string } | null>(null);
  const edit = useEdit(slug, datasetId, version, onNewVersion);

  React.useEffect(() => {
    if (count === 0) return;
    let live = true;
    api<TInvalidPage>(datasetPaths.invalidRows(slug, datasetId, version.id, { offset, limit: PAGE })).then(
      (p) => live && setPage(p),
      () => live && setPage(null),
    );
    return () => {
      live = false;
    };
  }, [slug, datasetId, version.id, offset, count]);

  if (count === 0) return null;

  async function saveFix() {
    if (!fixing) return;
    let row: unknown;
    try {
      row = JSON.parse(fixing.text);
    } catch {
      edit.setError(t('datasets.rowNotJson'));
      return;
    }
    if (await edit.save({ fixInvalid: [{ index: fixing.row.index, row }] })) setFixing(null);
  }

  const total = page?.total ?? count;
  return (
    <Card className="border-destructive/40" data-testid="invalid-rows">
      <CardHeader>
        <CardTitle>{t('datasetEditor.title', { count: formatNumber(count, locale) })}</CardTitle>
        <CardDescription>{t('datasetEditor.hint')}</CardDescription>
      </CardHeader>
      <CardContent className="space-y-3">
        {page?.unavailable ? (
          <p className="text-sm text-destructive">{t('datasetEditor.notKept', { n: version.number, count })}</p>
        ) : null}
        <ol className="space-y-3">
          {page?.data.map((r) => (
            <li key={r.index} className="space-y-2 rounded-lg border p-3" data-testid="invalid-row">
              <div className="flex items-center justify-between gap-2">
                <span className="flex items-center gap-2">
                  <Badge variant="outline">{t('datasetEditor.line', { line: r.line })}</Badge>
                  <span className="text-xs text-muted-foreground">
                    {r.before > 0 ? t('datasetEditor.position', { n: r.before }) : t('datasetEditor.positionFirst')}
                  </span>
                </span>
                {canWrite ? (
                  <div className="flex gap-1">
                    <Button
                      size="sm"
                      variant="outline"
                      aria-label={t('datasetEditor.fixRow', { line: r.line })}
                      onClick={() => {
                        edit.setError(null);
                        setFixing({ row: r, text: pretty(r.text) });
                      }}
                    >
                      <PencilIcon aria-hidden />
                      {t('datasetEditor.fix')}
                    </Button>
                    <Button
                      size="sm"
                      variant="ghost"
                      aria-label={t('datasetEditor.deleteRow', { line: r.line })}
                      disabled={edit.saving}
                      onClick={() => void edit.save({ deleteInvalid: [r.index] })}
                    >
                      <Trash2Icon aria-hidden />
                    </Button>
                  </div>
                ) : null}
              </div>
              <Problems row={r} />
              {r.text === null ? (
                <p className="text-xs text-muted-foreground">{t('datasetEditor.noText')}</p>
              ) : (
                <pre className="max-h-48 overflow-auto rounded-md bg-muted/50 p-2 text-xs whitespace-pre-wrap">
                  {r.text}
                </pre>
              )}
            </li>
          ))}
        </ol>
        {PAGE < total ? <Pager offset={offset} pageSize={PAGE} total={total} onOffset={setOffset} /> : null}
        {edit.error && !fixing ? (
          <p role="alert" className="text-sm text-destructive">
            {edit.error}
          </p>
        ) : null}
      </CardContent>
      <Dialog open={fixing !== null} onOpenChange={(open) => !open && setFixing(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>{t('datasetEditor.fixTitle', { line: fixing?.row.line ?? 0 })}</DialogTitle>
            <DialogDescription>{t('datasetEditor.fixHint')}</DialogDescription>
          </DialogHeader>
          {fixing ? <Problems row={fixing.row} /> : null}
          <textarea
            aria-label={t('datasets.rowJson')}
            className="h-64 w-full rounded-md border bg-background p-2 font-mono text-xs"
            value={fixing?.text ?? ''}
            onChange={(e) => setFixing(fixing ? { ...fixing, text: e.target.value } : null)}
          />
          {edit.error ? (
            <p role="alert" className="text-sm text-destructive">
              {edit.error}
            </p>
          ) : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => setFixing(null)}>
              {t('common.cancel')}
            </Button>
            <Button onClick={() => void saveFix()} loading={edit.saving}>
              {t('datasets.saveNewVersion')}
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
      <ConfirmDropDialog
        count={edit.confirmDrop?.count ?? null}
        versionNumber={version.number}
        saving={edit.saving}
        onConfirm={() => void edit.confirm()}
        onCancel={edit.cancelConfirm}
      />
    </Card>
  );
}
