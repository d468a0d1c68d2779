'use client';

import { CheckIcon, DownloadIcon, LockIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { formatCompact } from '@/components/fine-tuning/format';
import { ResourceTable } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { type ApiError, api, failureText } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatBytes, formatNumber } from '@/lib/utils';
import type { TAddPreset } from './add-base-model';
import { modelPaths, type TCatalog, type TCatalogEntry } from './types';

/** The fit of one method: the memory a run needs and how many live trainer workers have it. */
function Fit({ bytes, fits, of }: { bytes: number | null; fits: number; of: number }) {
  const t = useT();
  const locale = useLocale();
  return (
    <span className="grid text-xs tabular-nums">
      <span>{formatBytes(bytes, locale)}</span>
      <span className={of > 0 && fits === 0 ? 'text-destructive' : 'text-muted-foreground'}>
        {of === 0 ? t('models.catalog.noWorkers') : t('models.catalog.fits', { fits, of })}
      </span>
    </span>
  );
}

/**
 * The curated catalog (issue 14): the open models people fine-tune, with parameters, license, context length and
 * what a LoRA and a full fine-tune need in memory, against the trainer workers running now — so a user sees which
 * workers can train a model before downloading gigabytes. "Add" starts the Hugging Face download.
 */
export function CatalogSection({
  catalog,
  onAdd,
  onAdded,
}: {
  catalog: { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ready'; data: TCatalog };
  onAdd: (preset: TAddPreset) => void;
  onAdded: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  // One family at a time (the first by default): fifty rows at once is a long page.
  const [picked, setFamily] = React.useState<string | null>(null);
  const [adding, setAdding] = React.useState<string | null>(null);
  const entries = catalog.status === 'ready' ? catalog.data.data : [];
  const families = [...new Set(entries.map((e) => e.family))];
  const family = picked ?? families[0] ?? 'all';
  const shown = family === 'all' ? entries : entries.filter((e) => e.family === family);
  const canAdd = workspace.role !== 'viewer';

  async function add(e: TCatalogEntry) {
    if (catalog.status !== 'ready') return;
    // A gated repo needs the user's own token: the dialog asks for it.
    if (e.gated && !catalog.data.hubTokens.huggingface) {
      onAdd({ source: 'huggingface', repo: e.huggingface });
      return;
    }
    setAdding(e.id);
    try {
      await api(modelPaths.baseModels(workspace.slug), {
        method: 'POST',
        body: { source: 'huggingface', repo: e.huggingface },
      });
      toast({ title: t('models.add.started') });
      onAdded();
    } catch (error) {
      toast({
        variant: 'error',
        title: t('models.add.refused'),
        description: failureText(error),
      });
    } finally {
      setAdding(null);
    }
  }

  return (
    <div className="grid gap-3">
      <fieldset className="flex flex-wrap gap-2">
        <legend className="sr-only">{t('models.catalog.families')}</legend>
        {families.map((f) => (
          <Button key={f} size="sm" variant={family === f ? 'default' : 'outline'} onClick={() => setFamily(f)}>
            {f}
          </Button>
        ))}
        <Button size="sm" variant={family === 'all' ? 'default' : 'outline'} onClick={() => setFamily('all')}>
          {t('models.catalog.all')}
        </Button>
      </fieldset>
      <ResourceTable
        label={t('models.catalog.title')}
        state={
          catalog.status === 'ready'
            ? { status: 'ready', items: shown }
            : catalog.status === 'error'
              ? { status: 'error', error: catalog.error }
              : { status: 'loading' }
        }
        onRetry={onAdded}
        empty={null}
        columns={[
          {
            header: t('models.colName'),
            className: 'whitespace-normal',
            cell: (e) => (
              <span className="grid gap-0.5">
                <span className="font-medium">{e.name}</span>
                <span className="font-mono text-xs text-muted-foreground">{e.huggingface}</span>
              </span>
            ),
          },
          { header: t('models.colParams'), cell: (e) => formatCompact(e.parameters, locale) },
          {
            header: t('models.detail.contextLength'),
            cell: (e) => <span className="tabular-nums">{formatNumber(e.contextLength, locale)}</span>,
          },
          {
            header: t('models.catalog.license'),
            cell: (e) => (
              <span className="flex items-center gap-1.5">
                <Badge variant="outline">
                  {/* the license's identifier as Hugging Face model cards name it */}
                  <code>{e.license}</code>
                </Badge>
                {e.gated ? (
                  <LockIcon className="size-3.5 text-muted-foreground" aria-label={t('models.catalog.gated')} />
                ) : null}
              </span>
            ),
          },
          {
            header: t('models.catalog.lora'),
            cell: (e) => <Fit bytes={e.memory.lora} fits={e.fits.sft_lora} of={e.fits.of} />,
          },
          {
            header: t('models.catalog.full'),
            cell: (e) => <Fit bytes={e.memory.full} fits={e.fits.sft_full} of={e.fits.of} />,
          },
          {
            header: t('common.actions'),
            className: 'whitespace-normal',
            cell: (e) =>
              e.added ? (
                <Link
                  href={modelPaths.basePage(workspace.slug, e.added.id)}
                  className="inline-flex items-center gap-1 text-sm text-primary underline-offset-4 hover:underline"
                >
                  <CheckIcon className="size-4" aria-hidden />
                  {t('models.catalog.added')}
                </Link>
              ) : e.unsupported ? (
                <span className="block max-w-56 text-xs text-muted-foreground" title={e.unsupported}>
                  {t(`models.catalog.unsupported.${e.unsupportedCode ?? 'config'}`)}
                </span>
              ) : canAdd ? (
                <Button
                  size="sm"
                  variant="outline"
                  loading={adding === e.id}
                  onClick={() => add(e)}
                  aria-label={t('models.catalog.addLabel', { name: e.name })}
                >
                  <DownloadIcon aria-hidden />
                  {t('models.catalog.add')}
                </Button>
              ) : null,
          },
        ]}
      />
      <p className="text-xs text-muted-foreground">
        {t('models.catalog.memoryNote', {
          batch: entries[0]?.memory.settings.batchSize ?? 1,
          cutoff: entries[0]?.memory.settings.cutoffLen ?? 2048,
          rank: entries[0]?.memory.settings.loraRank ?? 8,
        })}
      </p>
    </div>
  );
}
