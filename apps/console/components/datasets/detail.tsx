'use client';

import { CheckCircle2Icon, DownloadIcon, UploadIcon } from 'lucide-react';
import Link from 'next/link';
import { usePathname, useSearchParams } from 'next/navigation';
import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useWorkspace } from '@/components/workspace-context';
import { api, apiErrorMessage, type TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatDate, formatNumber } from '@/lib/utils';
import {
  datasetPages,
  datasetPaths,
  openDownload,
  saveJson,
  type TDataset,
  type TEdited,
  type TProblemGroup,
  type TVersion,
} from './api';
import { DiffPanel } from './diff';
import { InvalidRowsPanel } from './invalid-rows';
import { PlaceholdersForm } from './placeholders';
import { PreviewPanel } from './preview';
import { ProblemsPanel } from './problems';
import { StatsPanel } from './stats';

const WRITERS = new Set(['developer', 'admin', 'owner']);

/** A dataset: its versions, and for the selected one statistics, problems, placeholders, preview, diff, publish. */
export function DatasetDetail({ datasetId }: { datasetId: string }) {
  const t = useT();
  const locale = useLocale();
  const pathname = usePathname();
  const params = useSearchParams();
  const { workspace } = useWorkspace();
  const slug = workspace.slug;
  const canWrite = WRITERS.has(workspace.role);
  const [dataset, setDataset] = React.useState<TDataset | null>(null);
  const [versions, setVersions] = React.useState<TVersion[] | null>(null);
  const [version, setVersion] = React.useState<TVersion | null>(null);
  const [failure, setFailure] = React.useState<string | null>(null);
  const [publishProblems, setPublishProblems] = React.useState<TProblemGroup[] | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [reload, setReload] = React.useState(0);
  const [listReload, setListReload] = React.useState(0);
  // What the last edit did, shown above the new version: no row leaves a version without the user being told.
  const [edited, setEdited] = React.useState<TEdited | null>(null);
  // The selection lives here and is mirrored into the URL without a navigation (a router.push would re-render the
  // server page and keep the previous copy around while it loads).
  const [picked, setPicked] = React.useState<string | null>(null);
  const selected = picked ?? params.get('version');

  React.useEffect(() => {
    void reload;
    void listReload;
    let live = true;
    api<TDataset>(datasetPaths.dataset(slug, datasetId)).then(
      (d) => live && setDataset(d),
      () => live && setFailure(t('errors.unknown')),
    );
    api<TList<TVersion>>(datasetPaths.versions(slug, datasetId)).then(
      (l) => live && setVersions(l.data),
      () => live && setVersions([]),
    );
    return () => {
      live = false;
    };
  }, [slug, datasetId, reload, listReload, t]);

  const versionId = selected ?? versions?.[0]?.id ?? null;
  React.useEffect(() => {
    void reload;
    if (!versionId) return;
    // Answers of an earlier selection (or reload) that arrive late must not replace the current version.
    let live = true;
    setPublishProblems(null);
    api<TVersion>(datasetPaths.version(slug, datasetId, versionId)).then(
      (v) => live && setVersion(v),
      () => live && setVersion(null),
    );
    return () => {
      live = false;
    };
  }, [slug, datasetId, versionId, reload]);

  const show = (id: string) => {
    setPicked(id);
    window.history.replaceState(null, '', `${pathname}?version=${encodeURIComponent(id)}`);
  };
  const select = (id: string) => {
    setEdited(null);
    show(id);
  };
  // A new version: the list is reloaded, and the new version is fetched because the selection changes.
  const created = (id: string, edit?: TEdited) => {
    setListReload((n) => n + 1);
    setEdited(edit ?? null);
    show(id);
  };

  async function publish() {
    if (!version) return;
    setBusy(true);
    setFailure(null);
    setPublishProblems(null);
    try {
      const res = await fetch(datasetPaths.publish(slug, datasetId, version.id), {
        method: 'POST',
        credentials: 'same-origin',
      });
      const body = (await res.json().catch(() => null)) as {
        error?: { code?: string; message?: string };
        report?: { problems?: TProblemGroup[] } | null;
      } | null;
      if (res.ok) setReload((n) => n + 1);
      else {
        setFailure(apiErrorMessage(body?.error, t('errors.unknown')));
        setPublishProblems(body?.report?.problems ?? null);
      }
    } catch {
      setFailure(t('errors.network'));
    } finally {
      setBusy(false);
    }
  }

  if (!dataset || !versions) return <p className="text-sm text-muted-foreground">{failure ?? t('common.loading')}</p>;
  const report = version?.validationReport ?? null;
  const placeholders = report?.placeholders ?? {};
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-xl font-semibold" data-testid="dataset-name">
          {dataset.name}
        </h2>
        {canWrite ? (
          <Button asChild variant="outline">
            <Link href={datasetPages.upload(slug, datasetId)}>
              <UploadIcon aria-hidden />
              {t('datasets.uploadNewVersion')}
            </Link>
          </Button>
        ) : null}
      </div>

      <Card>
        <CardHeader>
          <CardTitle>{t('datasets.versionsTitle')}</CardTitle>
        </CardHeader>
        <CardContent>
          <Table aria-label={t('datasets.versionsTitle')}>
            <TableHeader>
              <TableRow>
                <TableHead>{t('datasets.colVersion')}</TableHead>
                <TableHead>{t('datasets.colStatus')}</TableHead>
                <TableHead>{t('datasets.colRows')}</TableHead>
                <TableHead>{t('datasets.colErrors')}</TableHead>
                <TableHead>{t('datasets.colAuthor')}</TableHead>
                <TableHead>{t('datasets.colCreated')}</TableHead>
                <TableHead>{t('datasets.colSha')}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {versions.map((v) => (
                <TableRow key={v.id} data-state={v.id === versionId ? 'selected' : undefined}>
                  <TableCell>
                    <button type="button" className="font-medium hover:underline" onClick={() => select(v.id)}>
                      {t('datasets.versionN', { n: v.number })}
                    </button>
                  </TableCell>
                  <TableCell>
                    <Badge variant={v.status === 'published' ? 'default' : 'secondary'}>
                      {v.status === 'published' ? t('datasets.published') : t('datasets.draft')}
                    </Badge>
                  </TableCell>
                  <TableCell>{formatNumber(v.rowCount, locale)}</TableCell>
                  <TableCell>{formatNumber(v.errorCount, locale)}</TableCell>
                  <TableCell>{v.createdBy?.name ?? t('datasets.apiAuthor')}</TableCell>
                  <TableCell>{formatDate(v.createdAt, locale)}</TableCell>
                  <TableCell>
                    <code className="text-xs">{v.sha256.slice(0, 12)}</code>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>

      {version ? (
        <>
          <div className="flex flex-wrap items-center gap-2">
            <h3 className="text-lg font-semibold" data-testid="version-title">
              {t('datasets.versionN', { n: version.number })}
            </h3>
            <Badge variant={version.status === 'published' ? 'default' : 'secondary'} data-testid="version-status">
              {version.status === 'published' ? t('datasets.published') : t('datasets.draft')}
            </Badge>
            <Badge variant="outline">{version.sourceFormat ?? version.format}</Badge>
            <div className="ml-auto flex flex-wrap gap-2">
              <Button
                variant="outline"
                size="sm"
                onClick={() => void openDownload(datasetPaths.download(slug, datasetId, version.id))}
              >
                <DownloadIcon aria-hidden />
                {t('datasets.downloadJsonl')}
              </Button>
              {canWrite && version.status === 'draft' ? (
                <Button size="sm" onClick={() => void publish()} loading={busy}>
                  <CheckCircle2Icon aria-hidden />
                  {t('datasets.publish')}
                </Button>
              ) : null}
            </div>
          </div>
          {failure ? (
            <p role="alert" className="text-sm text-destructive">
              {failure}
            </p>
          ) : null}
          {edited && edited.id === version.id ? (
            <p role="status" className="rounded-md border bg-muted/40 p-2 text-sm" data-testid="edit-summary">
              {t('datasetEditor.created', {
                n: edited.number,
                updated: edited.edit.updated,
                deleted: edited.edit.deleted,
                added: edited.edit.added,
                fixed: edited.edit.fixed,
                invalidDeleted: edited.edit.invalidDeleted,
                invalidKept: edited.edit.invalidKept,
              })}
              {edited.edit.dropped > 0 ? ` ${t('datasetEditor.createdDropped', { count: edited.edit.dropped })}` : ''}
            </p>
          ) : null}
          {publishProblems ? (
            <ProblemsPanel
              problems={publishProblems}
              onDownload={() =>
                void saveJson(datasetPaths.report(slug, datasetId, version.id), `v${version.number}-report.json`)
              }
            />
          ) : null}
          {canWrite && Object.keys(placeholders).length > 0 ? (
            <PlaceholdersForm
              slug={slug}
              datasetId={datasetId}
              versionId={version.id}
              found={placeholders}
              onNewVersion={created}
            />
          ) : null}
          {version.stats ? <StatsPanel stats={version.stats} tokenizer={version.tokenizer ?? null} /> : null}
          {report ? (
            <ProblemsPanel
              problems={report.problems}
              onDownload={() =>
                void saveJson(datasetPaths.report(slug, datasetId, version.id), `v${version.number}-report.json`)
              }
            />
          ) : null}
          <InvalidRowsPanel
            key={`invalid-${version.id}`}
            slug={slug}
            datasetId={datasetId}
            version={version}
            canWrite={canWrite}
            onNewVersion={created}
          />
          {/* Keys differ per panel: two siblings with one key (both `version.id`) make React keep stale copies of a
              panel when the version changes — v1's rows stayed on screen under the v2 title. */}
          <PreviewPanel
            key={`preview-${version.id}`}
            slug={slug}
            datasetId={datasetId}
            version={version}
            canWrite={canWrite}
            onNewVersion={created}
          />
          <DiffPanel
            key={`diff-${version.id}`}
            slug={slug}
            datasetId={datasetId}
            version={version}
            versions={versions}
          />
        </>
      ) : null}
    </div>
  );
}
