'use client';

import { PencilIcon, PlusIcon, Trash2Icon } from 'lucide-react';
import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from '@/components/ui/dialog';
import { Input } from '@/components/ui/input';
import { api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { cn, formatNumber } from '@/lib/utils';
import {
  datasetPaths,
  invalidCount,
  type TEdited,
  type TPreview,
  type TRow,
  type TSegment,
  type TVersion,
} from './api';
import { ConfirmDropDialog } from './invalid-rows';
import { Pager } from './pager';
import { useEdit } from './use-edit';

const PAGE = 10;

/** A row as the qwen template lays it out; loss-carrying parts (what the model learns) are highlighted. */
function Segments({ segments }: { segments: TSegment[] }) {
  const t = useT();
  return (
    <pre className="overflow-x-auto rounded-md bg-muted/50 p-3 text-xs leading-relaxed whitespace-pre-wrap">
      {segments.map((s, i) => (
        <span
          // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional and never reordered
          key={i}
          data-loss={s.loss ? 'true' : 'false'}
          title={s.loss ? t('datasets.lossPart') : undefined}
          className={cn(s.loss && 'rounded bg-emerald-500/15 text-emerald-900 dark:text-emerald-200')}
        >
          {s.text}
        </span>
      ))}
    </pre>
  );
}

type TPairMessage = { role?: string; content?: string | null };
const messagesText = (list: TPairMessage[] | undefined) =>
  (list ?? []).map((m) => `<|im_start|>${m.role}\n${m.content ?? ''}<|im_end|>\n`).join('');

/**
 * A preference pair: its prompt, then the chosen and the rejected answer side by side (the pair is what DPO learns
 * from: raise the first, lower the second).
 */
function PairView({ row }: { row: TRow }) {
  const t = useT();
  return (
    <div className="space-y-2" data-testid="pair">
      <pre className="overflow-x-auto rounded-md bg-muted/50 p-3 text-xs leading-relaxed whitespace-pre-wrap">
        {messagesText(row.input?.messages)}
      </pre>
      <div className="grid gap-2 sm:grid-cols-2">
        {(
          [
            ['preferred_output', 'chosen', 'bg-emerald-500/10'],
            ['non_preferred_output', 'rejected', 'bg-rose-500/10'],
          ] as const
        ).map(([field, which, tone]) => (
          <div key={field} data-testid={`pair-${which}`}>
            <p className="mb-1 text-xs font-medium text-muted-foreground">{t(`datasets.pair.${which}`)}</p>
            <pre className={cn('overflow-x-auto rounded-md p-3 text-xs leading-relaxed whitespace-pre-wrap', tone)}>
              {messagesText(row[field])}
            </pre>
          </div>
        ))}
      </div>
    </div>
  );
}

type TEdit = { mode: 'edit'; index: number; text: string } | { mode: 'add'; text: string };

/**
 * Paginated preview with search; a developer can fix, delete or add rows, each saved as a new version that keeps
 * every other row (rows with errors included: they are listed, fixed and deleted in InvalidRowsPanel).
 */
export function PreviewPanel({
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
  const invalid = invalidCount(version);
  const [offset, setOffset] = React.useState(0);
  const [query, setQuery] = React.useState('');
  const [q, setQ] = React.useState('');
  // The page remembers which version it belongs to, so rows of another version are never shown under this one.
  const [loaded, setLoaded] = React.useState<{ versionId: string; page: TPreview | null } | null>(null);
  const page = loaded?.versionId === version.id ? loaded.page : null;
  const [edit, setEdit] = React.useState<TEdit | null>(null);
  const saver = useEdit(slug, datasetId, version, onNewVersion);
  const { error, setError, saving } = saver;

  React.useEffect(() => {
    let live = true;
    api<TPreview>(datasetPaths.rows(slug, datasetId, version.id, { offset, limit: PAGE, q })).then(
      (p) => live && setLoaded({ versionId: version.id, page: p }),
      () => live && setLoaded({ versionId: version.id, page: null }),
    );
    return () => {
      live = false;
    };
  }, [slug, datasetId, version.id, offset, q]);

  async function save(body: Record<string, unknown>) {
    if (await saver.save(body)) setEdit(null);
  }

  function submitEdit() {
    if (!edit) return;
    let row: TRow;
    try {
      row = JSON.parse(edit.text);
    } catch {
      setError(t('datasets.rowNotJson'));
      return;
    }
    void save(edit.mode === 'edit' ? { update: [{ index: edit.index, row }] } : { add: [row] });
  }

  const total = page?.total ?? 0;
  return (
    <Card>
      <CardHeader className="flex flex-row flex-wrap items-center justify-between gap-2">
        <CardTitle>{t('datasets.previewTitle')}</CardTitle>
        <form
          className="flex gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            setOffset(0);
            setQ(query.trim());
          }}
        >
          <Input
            aria-label={t('datasets.search')}
            placeholder={t('datasets.searchPlaceholder')}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            className="w-56"
          />
          <Button type="submit" variant="outline">
            {t('datasets.search')}
          </Button>
          {canWrite ? (
            <Button
              type="button"
              variant="outline"
              onClick={() =>
                setEdit({
                  mode: 'add',
                  text: JSON.stringify(
                    {
                      messages: [
                        { role: 'user', content: '' },
                        { role: 'assistant', content: '' },
                      ],
                    },
                    null,
                    2,
                  ),
                })
              }
            >
              <PlusIcon aria-hidden />
              {t('datasets.addRow')}
            </Button>
          ) : null}
        </form>
      </CardHeader>
      <CardContent className="space-y-3">
        <p className="text-xs text-muted-foreground">{t('datasets.lossLegend')}</p>
        {invalid > 0 ? (
          <p className="text-xs text-muted-foreground" data-testid="invalid-kept-note">
            {t('datasetEditor.keptNote', { count: formatNumber(invalid, locale) })}
          </p>
        ) : null}
        {page?.unavailable ? <p className="text-sm text-destructive">{page.unavailable}</p> : null}
        {page && page.data.length === 0 && !page.unavailable ? (
          <p className="text-sm text-muted-foreground">{t('datasets.noRows')}</p>
        ) : null}
        <ol className="space-y-3" data-testid="preview-rows">
          {page?.data.map((r) => (
            <li key={r.index} className="space-y-1">
              <div className="flex items-center justify-between">
                <Badge variant="outline">{t('datasets.rowNumber', { n: r.index + 1 })}</Badge>
                {canWrite ? (
                  <div className="flex gap-1">
                    <Button
                      size="sm"
                      variant="ghost"
                      aria-label={t('datasets.editRow', { n: r.index + 1 })}
                      onClick={() => setEdit({ mode: 'edit', index: r.index, text: JSON.stringify(r.row, null, 2) })}
                    >
                      <PencilIcon aria-hidden />
                    </Button>
                    <Button
                      size="sm"
                      variant="ghost"
                      aria-label={t('datasets.deleteRow', { n: r.index + 1 })}
                      disabled={saving}
                      onClick={() => void save({ delete: [r.index] })}
                    >
                      <Trash2Icon aria-hidden />
                    </Button>
                  </div>
                ) : null}
              </div>
              {r.row.preferred_output ? <PairView row={r.row} /> : <Segments segments={r.segments} />}
            </li>
          ))}
        </ol>
        <Pager offset={offset} pageSize={PAGE} total={total} onOffset={setOffset} />
        {error && !edit ? (
          <p role="alert" className="text-sm text-destructive">
            {error}
          </p>
        ) : null}
      </CardContent>
      <Dialog open={edit !== null} onOpenChange={(open) => !open && setEdit(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>
              {edit?.mode === 'edit' ? t('datasets.editRowTitle', { n: edit.index + 1 }) : t('datasets.addRow')}
            </DialogTitle>
            <DialogDescription>{t('datasets.editHint')}</DialogDescription>
          </DialogHeader>
          <textarea
            aria-label={t('datasets.rowJson')}
            className="h-72 w-full rounded-md border bg-background p-2 font-mono text-xs"
            value={edit?.text ?? ''}
            onChange={(e) => setEdit(edit ? { ...edit, text: e.target.value } : null)}
          />
          {error ? (
            <p role="alert" className="text-sm text-destructive">
              {error}
            </p>
          ) : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => setEdit(null)}>
              {t('common.cancel')}
            </Button>
            <Button onClick={submitEdit} loading={saving}>
              {t('datasets.saveNewVersion')}
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
      <ConfirmDropDialog
        count={saver.confirmDrop?.count ?? null}
        versionNumber={version.number}
        saving={saving}
        onConfirm={() => void saver.confirm().then((ok) => ok && setEdit(null))}
        onCancel={saver.cancelConfirm}
      />
    </Card>
  );
}
