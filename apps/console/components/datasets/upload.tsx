'use client';

import { FileJsonIcon, UploadCloudIcon } from 'lucide-react';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { useWorkspace } from '@/components/workspace-context';
import { api, apiErrorMessage } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { SAMPLE_FILE_NAME, SAMPLE_JSONL } from '@/lib/server/datasets/sample';
import { formatNumber } from '@/lib/utils';
import { datasetPages, datasetPaths, type TImport, type TLimits, uploadWithProgress } from './api';

type TPhase =
  | { step: 'idle' }
  | { step: 'uploading'; fraction: number }
  | { step: 'validating'; rows: number; fraction: number }
  | { step: 'failed'; message: string };

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** Drag-and-drop upload straight to object storage (presigned), then server-side validation with progress. */
export function UploadForm({ datasetId }: { datasetId?: string }) {
  const t = useT();
  const locale = useLocale();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const slug = workspace.slug;
  const [limits, setLimits] = React.useState<TLimits | null>(null);
  const [file, setFile] = React.useState<File | null>(null);
  const [info, setInfo] = React.useState<File | null>(null);
  const [name, setName] = React.useState('');
  const [dragging, setDragging] = React.useState(false);
  const [phase, setPhase] = React.useState<TPhase>({ step: 'idle' });
  // The import being validated (its id is the upload's), for the cancel button.
  const running = React.useRef<{ datasetId: string; importId: string } | null>(null);

  React.useEffect(() => {
    api<TLimits>(datasetPaths.limits(slug)).then(setLimits, () => undefined);
  }, [slug]);

  const pick = (f: File | undefined | null) => {
    if (!f) return;
    setFile(f);
    if (!name) setName(f.name.replace(/\.[^.]+$/, ''));
  };

  const sampleHref = `data:application/jsonl;charset=utf-8,${encodeURIComponent(SAMPLE_JSONL)}`;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!file) return;
    try {
      setPhase({ step: 'uploading', fraction: 0 });
      const id =
        datasetId ??
        (await api<{ id: string }>(datasetPaths.list(slug), { method: 'POST', body: { name: name || file.name } })).id;
      const start = await api<{ uploadId: string; upload: Parameters<typeof uploadWithProgress>[0] }>(
        datasetPaths.uploads(slug, id),
        { method: 'POST', body: { fileName: file.name, size: file.size, contentType: file.type || undefined } },
      );
      const status = await uploadWithProgress(start.upload, file, (fraction) =>
        setPhase({ step: 'uploading', fraction }),
      );
      if (status >= 300) throw new Error(t('datasets.uploadRefused', { status }));
      const datasetInfo = info ? await info.text() : undefined;
      let record = await api<TImport>(datasetPaths.imports(slug, id), {
        method: 'POST',
        body: { uploadId: start.uploadId, datasetInfo },
      });
      running.current = { datasetId: id, importId: record.id };
      // The housekeeping worker validates it; its progress is on the import, read from any console replica.
      while (record.status === 'validating') {
        setPhase({
          step: 'validating',
          rows: record.rowsRead,
          fraction: record.totalBytes ? record.bytesRead / record.totalBytes : 0,
        });
        await new Promise((r) => setTimeout(r, 500));
        record = await api<TImport>(datasetPaths.importOf(slug, id, record.id));
      }
      running.current = null;
      if (record.status === 'cancelled') {
        setPhase({ step: 'failed', message: t('datasets.importCancelled') });
        return;
      }
      if (record.status === 'failed' || !record.versionId)
        throw new Error(apiErrorMessage(record.error, t('errors.unknown')));
      router.push(datasetPages.detail(slug, id, record.versionId));
    } catch (error) {
      running.current = null;
      setPhase({ step: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  }

  async function cancelImport() {
    const r = running.current;
    if (!r) return;
    // The worker stops at its next progress write; the loop above then sees `cancelled`.
    await api(`${datasetPaths.importOf(slug, r.datasetId, r.importId)}/cancel`, { method: 'POST' }).catch(
      () => undefined,
    );
  }

  const busy = phase.step === 'uploading' || phase.step === 'validating';
  const fraction = phase.step === 'uploading' || phase.step === 'validating' ? phase.fraction : 0;
  return (
    <form onSubmit={submit} className="grid gap-6 lg:grid-cols-3">
      <Card className="lg:col-span-2">
        <CardHeader>
          <CardTitle>{t('datasets.uploadTitle')}</CardTitle>
          <CardDescription>{t('datasets.uploadHint')}</CardDescription>
        </CardHeader>
        <CardContent className="space-y-4">
          {datasetId ? null : (
            <div className="space-y-1.5">
              <Label htmlFor="ds-name">{t('datasets.name')}</Label>
              <Input id="ds-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={128} />
            </div>
          )}
          <label
            htmlFor="ds-file"
            data-testid="dropzone"
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => {
              e.preventDefault();
              setDragging(false);
              pick(e.dataTransfer.files[0]);
            }}
            className={`flex cursor-pointer flex-col items-center justify-center gap-2 rounded-xl border-2 border-dashed p-10 text-center ${dragging ? 'border-primary bg-primary/5' : ''}`}
          >
            <UploadCloudIcon className="size-8 text-muted-foreground" aria-hidden />
            <span className="text-sm font-medium">{file ? file.name : t('datasets.dropHere')}</span>
            <span className="text-xs text-muted-foreground">
              {file ? formatNumber(file.size, locale) : t('datasets.acceptedTypes')}
            </span>
          </label>
          <input
            id="ds-file"
            aria-label={t('datasets.chooseFile')}
            type="file"
            accept=".jsonl,.json,.csv,.xlsx"
            className="sr-only"
            onChange={(e) => pick(e.target.files?.[0])}
          />
          <div className="space-y-1.5">
            <Label htmlFor="ds-info">{t('datasets.datasetInfo')}</Label>
            <Input id="ds-info" type="file" accept=".json" onChange={(e) => setInfo(e.target.files?.[0] ?? null)} />
            <p className="text-xs text-muted-foreground">{t('datasets.datasetInfoHint')}</p>
          </div>
          {busy ? (
            <div className="space-y-1">
              <div
                role="progressbar"
                aria-label={phase.step === 'uploading' ? t('datasets.uploading') : t('datasets.validating')}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(fraction * 100)}
                className="h-2 overflow-hidden rounded bg-muted"
              >
                <div className="h-full bg-primary transition-all" style={{ width: `${Math.round(fraction * 100)}%` }} />
              </div>
              <p className="text-xs text-muted-foreground">
                {phase.step === 'uploading'
                  ? t('datasets.uploadingPercent', { percent: Math.round(fraction * 100) })
                  : t('datasets.validatingRows', { rows: phase.step === 'validating' ? phase.rows : 0 })}
              </p>
              {phase.step === 'validating' ? (
                <Button type="button" variant="outline" size="sm" onClick={cancelImport}>
                  {t('datasets.cancelImport')}
                </Button>
              ) : null}
            </div>
          ) : null}
          {phase.step === 'failed' ? (
            <p role="alert" className="text-sm text-destructive">
              {phase.message}
            </p>
          ) : null}
          <Button type="submit" disabled={!file || busy} loading={busy}>
            {t('datasets.uploadAndValidate')}
          </Button>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('datasets.limitsTitle')}</CardTitle>
        </CardHeader>
        <CardContent className="space-y-2 text-sm">
          {limits ? (
            <dl className="grid grid-cols-2 gap-x-2 gap-y-1" data-testid="limits">
              <dt className="text-muted-foreground">{t('datasets.limitFileSize')}</dt>
              <dd>{mb(limits.maxBytes)}</dd>
              <dt className="text-muted-foreground">{t('datasets.limitRows')}</dt>
              <dd>{formatNumber(limits.maxRows, locale)}</dd>
              <dt className="text-muted-foreground">{t('datasets.limitTokens')}</dt>
              <dd>{formatNumber(limits.maxTokensPerRow, locale)}</dd>
              <dt className="text-muted-foreground">{t('datasets.limitXlsx')}</dt>
              <dd>{mb(limits.maxXlsxBytes)}</dd>
            </dl>
          ) : null}
          <a
            className="inline-flex items-center gap-1 text-primary hover:underline"
            href={sampleHref}
            download={SAMPLE_FILE_NAME}
          >
            <FileJsonIcon className="size-4" aria-hidden />
            {t('datasets.sampleTemplate')}
          </a>
          <p className="text-xs text-muted-foreground">{t('datasets.formatsHint')}</p>
        </CardContent>
      </Card>
    </form>
  );
}
