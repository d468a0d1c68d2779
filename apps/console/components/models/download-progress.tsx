'use client';

import { RotateCcwIcon } from 'lucide-react';
import * as React from 'react';
import { formatDuration } from '@/components/fine-tuning/format';
import { ProgressBar } from '@/components/fine-tuning/progress-bar';
import { Button } from '@/components/ui/button';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api, failureText } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatBytes } from '@/lib/utils';
import { isDownloading, modelPaths, type TDownload } from './types';

/**
 * A base model being added (issue 14): a progress bar with bytes, speed and time left while the housekeeping
 * worker downloads or stores it, or why it failed with a "Try again" button. The parent polls the row.
 */
export function DownloadProgress({
  baseModelId,
  download,
  onChanged,
  compact,
}: {
  baseModelId: string;
  download: TDownload;
  onChanged: () => void;
  compact?: boolean;
}) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const [pending, setPending] = React.useState(false);
  if (download.status === 'failed') {
    return (
      <div className="grid gap-1.5" data-testid="download-progress" data-state="failed">
        <p role="alert" className="max-w-md text-xs break-words whitespace-normal text-destructive">
          {t('models.download.failed', { message: download.error?.message ?? '' })}
        </p>
        {workspace.role !== 'viewer' ? (
          <Button
            size="sm"
            variant="outline"
            className="w-fit"
            loading={pending}
            onClick={async () => {
              setPending(true);
              try {
                await api(modelPaths.retry(workspace.slug, baseModelId), { method: 'POST' });
                onChanged();
              } catch (error) {
                toast({
                  variant: 'error',
                  title: t('models.download.retryRefused'),
                  description: failureText(error),
                });
              } finally {
                setPending(false);
              }
            }}
          >
            <RotateCcwIcon aria-hidden />
            {t('models.download.retry')}
          </Button>
        ) : null}
      </div>
    );
  }
  if (!isDownloading(download)) return null;
  const pct = download.totalBytes > 0 ? (100 * download.doneBytes) / download.totalBytes : null;
  const phase = t(`models.download.phase.${download.status}`);
  return (
    <div
      className={compact ? 'grid w-56 gap-1' : 'grid max-w-xl gap-1.5'}
      data-testid="download-progress"
      data-state={download.status}
      data-percent={pct === null ? '' : Math.floor(pct)}
    >
      <ProgressBar value={download.status === 'queued' ? null : pct} label={t('models.download.label')} />
      <p className="text-xs text-muted-foreground tabular-nums">
        {download.status === 'queued'
          ? phase
          : t('models.download.bytes', {
              phase,
              done: formatBytes(download.doneBytes, locale),
              total: formatBytes(download.totalBytes, locale),
              percent: pct === null ? '—' : Math.floor(pct),
            })}
        {download.bytesPerSecond
          ? ` · ${t('models.download.speed', { speed: formatBytes(download.bytesPerSecond, locale) })}`
          : ''}
        {download.etaSeconds !== null
          ? ` · ${t('models.download.eta', { eta: formatDuration(download.etaSeconds, locale) })}`
          : ''}
      </p>
      {!compact && download.currentFile ? (
        <p className="font-mono text-xs break-all text-muted-foreground">{download.currentFile}</p>
      ) : null}
      {download.note ? <p className="text-xs text-muted-foreground">{download.note}</p> : null}
    </div>
  );
}
