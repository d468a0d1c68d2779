'use client';

import { BoxesIcon, FlaskConicalIcon, PlusIcon, TerminalIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { CopyField } from '@/components/copy-field';
import { DeployButton } from '@/components/deployments/deploy-button';
import { usePoll } from '@/components/deployments/use-poll';
import { formatCompact, formatHyperparameter, formatMetric } from '@/components/fine-tuning/format';
import { ftPaths, type TBaseModel, type TFineTunedModel } from '@/components/fine-tuning/types';
import { ResourceTable } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { useLocale, useT } from '@/lib/i18n/client';
import { hyperparameterLabel, hyperparameterValue, modelName, modelSourceText } from '@/lib/i18n/domain';
import { useList } from '@/lib/use-list';
import { formatDate } from '@/lib/utils';
import { AddBaseModelDialog, type TAddPreset } from './add-base-model';
import { CatalogSection } from './catalog';
import { DownloadProgress } from './download-progress';
import { isDownloading, modelPaths, type TCatalog } from './types';

/** The hyper-parameters worth a glance in a table row; the job page has all of them. */
const SUMMARY_KEYS = ['epochs', 'learningRate', 'loraRank', 'loraAlpha', 'batchSize'];

function ImportCommand() {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <div className="mt-8 w-full max-w-xl text-left">
      <p className="mb-2 flex items-center gap-2 text-sm font-medium">
        <TerminalIcon className="size-4 text-muted-foreground" aria-hidden />
        {t('models.importTitle')}
      </p>
      <CopyField
        label={t('models.importCommand')}
        value={`npx crucible models import DIR --workspace ${workspace.slug} --name NAME`}
      />
      <p className="mt-2 text-xs text-muted-foreground">{t('models.importHelp')}</p>
    </div>
  );
}

function BaseModelsTable({
  state,
  reload,
}: {
  state: ReturnType<typeof useList<TBaseModel>>['state'];
  reload: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  return (
    <ResourceTable
      label={t('models.baseTitle')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('models.colName'),
          cell: (m) => (
            <Link
              id={m.id}
              href={modelPaths.basePage(workspace.slug, m.id)}
              className="font-medium text-primary underline-offset-4 hover:underline"
            >
              {modelName(t, m)}
            </Link>
          ),
        },
        {
          header: t('models.colArch'),
          cell: (m) => (m.arch && m.arch !== 'unknown' ? <Badge variant="outline">{m.arch}</Badge> : '—'),
        },
        { header: t('models.colParams'), cell: (m) => formatCompact(m.params ?? m.parameterCount, locale) },
        {
          header: t('models.colSource'),
          className: 'whitespace-normal',
          cell: (m) =>
            m.download && m.download.status !== 'succeeded' ? (
              <DownloadProgress baseModelId={m.id} download={m.download} onChanged={reload} compact />
            ) : (
              <span className="grid">
                {m.source ? modelSourceText(t, m.source) : '—'}
                {m.sourceRef ? <span className="font-mono text-xs text-muted-foreground">{m.sourceRef}</span> : null}
              </span>
            ),
        },
        { header: t('models.colCreated'), cell: (m) => formatDate(m.createdAt, locale) },
        {
          header: t('common.actions'),
          cell: (m) =>
            !m.status || m.status === 'ready' ? (
              <DeployButton
                size="sm"
                variant="outline"
                model={{ id: m.id, kind: 'base', name: m.displayName ?? m.name }}
              />
            ) : null,
        },
      ]}
      empty={
        <EmptyState icon={BoxesIcon} title={t('models.baseEmptyTitle')} description={t('models.baseEmptyDescription')}>
          <ImportCommand />
        </EmptyState>
      }
    />
  );
}

function FineTunedModelsTable() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TFineTunedModel>(ftPaths.fineTunedModels(workspace.slug));
  return (
    <ResourceTable
      label={t('models.fineTunedTitle')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('models.colName'),
          className: 'max-w-64 whitespace-normal',
          cell: (m) => (
            <Link
              id={m.id}
              href={modelPaths.page(workspace.slug, m.id)}
              className="grid font-mono text-xs font-medium break-all whitespace-normal text-primary underline-offset-4 hover:underline"
            >
              {m.displayName ? <span className="font-sans text-sm">{m.displayName}</span> : null}
              {m.name}
            </Link>
          ),
        },
        { header: t('models.colBase'), cell: (m) => m.baseModel?.name ?? '—' },
        {
          header: t('models.colDataset'),
          cell: (m) =>
            m.datasetVersion
              ? `${m.datasetVersion.datasetName ?? m.datasetVersion.datasetId} · v${m.datasetVersion.number}`
              : '—',
        },
        {
          header: t('models.colJob'),
          cell: (m) =>
            m.job ? (
              <Link
                href={`/w/${workspace.slug}/fine-tuning/${m.job.id}`}
                className="font-mono text-xs text-primary underline-offset-4 hover:underline"
                title={m.job.id}
                aria-label={m.job.id}
              >
                {m.job.id.slice(0, 10)}…
              </Link>
            ) : (
              '—'
            ),
        },
        {
          header: t('models.colHyperparameters'),
          className: 'min-w-44 whitespace-normal',
          cell: (m) => {
            const hp = (m.hyperparameters ?? {}) as Record<string, unknown>;
            const shown = SUMMARY_KEYS.filter((k) => hp[k] !== undefined && hp[k] !== null);
            if (shown.length === 0) return '—';
            return (
              <span className="flex flex-wrap gap-x-2 text-xs text-muted-foreground">
                {shown.map((k) => (
                  <span key={k} title={k}>
                    {`${hyperparameterLabel(t, k)} ${hyperparameterValue(t, hp[k], formatHyperparameter, k)}`}
                  </span>
                ))}
              </span>
            );
          },
        },
        {
          header: t('models.colFinalLoss'),
          cell: (m) => {
            const evalLoss = m.finalEvalLoss ?? m.evalLoss ?? null;
            return (
              <div className="tabular-nums">
                <p>{formatMetric(m.finalLoss ?? m.trainLoss ?? null)}</p>
                {evalLoss === null ? null : (
                  <p className="text-xs text-muted-foreground">
                    {t('models.colFinalEvalLoss')} {formatMetric(evalLoss)}
                  </p>
                )}
              </div>
            );
          },
        },
        { header: t('models.colCreated'), cell: (m) => formatDate(m.createdAt, locale) },
        {
          header: t('common.actions'),
          cell: (m) => (
            <DeployButton size="sm" variant="outline" model={{ id: m.id, kind: 'fine_tuned', name: m.name }} />
          ),
        },
      ]}
      empty={
        <EmptyState
          icon={FlaskConicalIcon}
          title={t('models.emptyTitle')}
          description={t('models.emptyDescription')}
          action={
            <Button asChild>
              <Link href={`/w/${workspace.slug}/fine-tuning`}>
                <FlaskConicalIcon aria-hidden />
                {t('models.emptyAction')}
              </Link>
            </Button>
          }
        />
      }
    />
  );
}

/** The base models, polled while one of them is being added so its progress bar moves by itself. */
function useBaseModels(slug: string) {
  const { state, reload } = useList<TBaseModel>(ftPaths.baseModels(slug));
  const items = state.status === 'ready' ? state.items : null;
  // Each answer schedules the next one while any model is still downloading.
  React.useEffect(() => {
    if (!items?.some((m) => isDownloading(m.download))) return;
    const timer = setTimeout(reload, 1000);
    return () => clearTimeout(timer);
  }, [items, reload]);
  return { state, reload };
}

export function ModelsView() {
  const t = useT();
  const { workspace } = useWorkspace();
  const bases = useBaseModels(workspace.slug);
  const catalog = usePoll<TCatalog>(modelPaths.catalog(workspace.slug), () => 30_000);
  const [adding, setAdding] = React.useState<{ open: boolean; preset: TAddPreset | null }>({
    open: false,
    preset: null,
  });
  const refresh = () => {
    bases.reload();
    catalog.reload();
  };
  return (
    <div className="grid gap-10">
      <section aria-labelledby="fine-tuned-models" className="grid gap-3">
        <h2 id="fine-tuned-models" className="text-lg font-semibold">
          {t('models.fineTunedTitle')}
        </h2>
        <FineTunedModelsTable />
      </section>
      <section aria-labelledby="base-models" className="grid gap-3">
        <div className="flex flex-wrap items-center justify-between gap-3">
          <h2 id="base-models" className="text-lg font-semibold">
            {t('models.baseTitle')}
          </h2>
          {workspace.role !== 'viewer' ? (
            <Button onClick={() => setAdding({ open: true, preset: null })}>
              <PlusIcon aria-hidden />
              {t('models.add.button')}
            </Button>
          ) : null}
        </div>
        <p className="-mt-1 text-sm text-muted-foreground">{t('models.baseDescription')}</p>
        <BaseModelsTable state={bases.state} reload={bases.reload} />
      </section>
      <section aria-labelledby="catalog" className="grid gap-3">
        <h2 id="catalog" className="text-lg font-semibold">
          {t('models.catalog.title')}
        </h2>
        <p className="-mt-1 text-sm text-muted-foreground">{t('models.catalog.description')}</p>
        <CatalogSection
          catalog={catalog.state}
          onAdd={(preset) => setAdding({ open: true, preset })}
          onAdded={refresh}
        />
      </section>
      <AddBaseModelDialog
        open={adding.open}
        preset={adding.preset}
        catalog={catalog.state.status === 'ready' ? catalog.state.data : null}
        onOpenChange={(open) => setAdding((a) => ({ ...a, open }))}
        onAdded={refresh}
      />
    </div>
  );
}
