'use client';

import { CheckCircle2Icon, DatabaseIcon, FileUpIcon, FlaskConicalIcon, UploadIcon } from 'lucide-react';
import { ResourceTable } from '@/components/resource-table';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useWorkspace } from '@/components/workspace-context';
import { apiPaths } from '@/lib/api-paths';
import { useLocale, useT } from '@/lib/i18n/client';
import { useList } from '@/lib/use-list';
import { formatDate, formatNumber } from '@/lib/utils';

type TDataset = {
  id: string;
  name: string;
  description?: string | null;
  updatedAt?: string;
  createdAt?: string;
  format?: string | null;
  versionCount?: number;
  _count?: { versions?: number };
  latestVersion?: { format?: string | null; rowCount?: number | null } | null;
};

/** Upload arrives with the datasets issue; until then the call to action is visible but marked as coming. */
export function UploadDatasetButton() {
  const t = useT();
  return (
    <Button disabled title={t('common.comingSoon')}>
      <UploadIcon aria-hidden />
      {t('datasets.upload')}
      <Badge variant="secondary" className="ml-1">
        {t('common.comingSoon')}
      </Badge>
    </Button>
  );
}

/** The path from an empty workspace to a first model, shown while there is no data yet. */
function GettingStarted() {
  const t = useT();
  const steps = [
    { icon: FileUpIcon, title: t('datasets.steps.upload'), hint: t('datasets.steps.uploadHint') },
    { icon: CheckCircle2Icon, title: t('datasets.steps.publish'), hint: t('datasets.steps.publishHint') },
    { icon: FlaskConicalIcon, title: t('datasets.steps.train'), hint: t('datasets.steps.trainHint') },
  ];
  return (
    <section className="mt-10 w-full max-w-3xl border-t pt-8 text-left">
      <h3 className="mb-4 text-center text-xs font-semibold tracking-wider text-muted-foreground uppercase">
        {t('datasets.steps.title')}
      </h3>
      <ol className="grid gap-3 sm:grid-cols-3">
        {steps.map((step, index) => (
          <li key={step.title} className="flex gap-3 rounded-lg border bg-background/60 p-4">
            <span className="flex size-7 shrink-0 items-center justify-center rounded-full bg-primary/10 text-xs font-semibold text-primary">
              {index + 1}
            </span>
            <div className="min-w-0">
              <p className="flex items-center gap-1.5 text-sm font-medium">
                <step.icon className="size-3.5 text-muted-foreground" aria-hidden />
                {step.title}
              </p>
              <p className="mt-1 text-xs text-muted-foreground">{step.hint}</p>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function DatasetsList() {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state, reload } = useList<TDataset>(apiPaths.datasets(workspace.slug));
  return (
    <ResourceTable
      label={t('datasets.title')}
      state={state}
      onRetry={reload}
      columns={[
        {
          header: t('datasets.colName'),
          cell: (d) => (
            <div>
              <p className="font-medium">{d.name}</p>
              {d.description ? <p className="text-xs text-muted-foreground">{d.description}</p> : null}
            </div>
          ),
        },
        {
          header: t('datasets.colFormat'),
          cell: (d) => <Badge variant="outline">{d.latestVersion?.format ?? d.format ?? '—'}</Badge>,
        },
        { header: t('datasets.colVersions'), cell: (d) => formatNumber(d.versionCount ?? d._count?.versions, locale) },
        { header: t('datasets.colRows'), cell: (d) => formatNumber(d.latestVersion?.rowCount, locale) },
        { header: t('datasets.colUpdated'), cell: (d) => formatDate(d.updatedAt ?? d.createdAt, locale) },
      ]}
      empty={
        <EmptyState
          icon={DatabaseIcon}
          title={t('datasets.emptyTitle')}
          description={t('datasets.emptyDescription')}
          action={<UploadDatasetButton />}
        >
          <GettingStarted />
        </EmptyState>
      }
    />
  );
}
