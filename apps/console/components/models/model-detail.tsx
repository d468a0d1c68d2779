'use client';

import { FlaskConicalIcon, MessagesSquareIcon, PencilIcon, Trash2Icon } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { DeployButton } from '@/components/deployments/deploy-button';
import { PollFallback } from '@/components/deployments/poll-fallback';
import { usePoll } from '@/components/deployments/use-poll';
import { formatCompact, formatHyperparameter, formatMetric } from '@/components/fine-tuning/format';
import { DeploymentStatusBadge } from '@/components/status-badge';
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
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api, failureText } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { hyperparameterLabel, hyperparameterValue, modelName, modelSourceText } from '@/lib/i18n/domain';
import { formatBytes, formatDate } from '@/lib/utils';
import { DownloadProgress } from './download-progress';
import { ModelDownloads } from './model-downloads';
import {
  isBuilding,
  isDownloading,
  modelPaths,
  type TBaseModelDetail,
  type TFineTunedModelDetail,
  type TModelDetail,
} from './types';

/** `/w/[slug]/models/[id]` and `/w/[slug]/models/base/[id]`: lineage, downloads, how to load it, edit, delete. */
export function ModelDetail({ kind, id }: { kind: 'fine_tuned' | 'base'; id: string }) {
  const t = useT();
  const { workspace } = useWorkspace();
  const path = kind === 'base' ? modelPaths.base(workspace.slug, id) : modelPaths.fineTuned(workspace.slug, id);
  // Poll while an export is being built, so its row turns into a Download button by itself.
  // ... and while a base model is being added, so its progress bar moves.
  const { state, reload } = usePoll<TModelDetail>(path, (m) =>
    isBuilding(m) || (m.kind === 'base' && isDownloading(m.download)) ? 1000 : null,
  );
  if (state.status !== 'ready') {
    return (
      <PollFallback
        state={state}
        notFound={t('models.detail.notFound')}
        backHref={`/w/${workspace.slug}/models`}
        onRetry={reload}
      />
    );
  }
  const model = state.data;
  return (
    <div className="grid gap-6">
      <Header model={model} path={path} onChanged={reload} />
      {model.kind === 'fine_tuned' ? <Lineage model={model} /> : <BaseInfo model={model} onChanged={reload} />}
      {model.kind === 'base' && model.status !== 'ready' ? null : (
        <ModelDownloads model={model} basePath={path} onChanged={reload} />
      )}
    </div>
  );
}

function Header({ model, path, onChanged }: { model: TModelDetail; path: string; onChanged: () => void }) {
  const t = useT();
  const toast = useToast();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const [confirm, setConfirm] = React.useState(false);
  const [editing, setEditing] = React.useState(false);
  const canDelete =
    model.kind === 'base'
      ? !model.builtin && (workspace.role === 'admin' || workspace.role === 'owner')
      : workspace.role !== 'viewer';
  return (
    <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
      <div className="grid gap-1">
        <div className="flex flex-wrap items-center gap-3">
          <h2 className="text-xl font-semibold" data-testid="model-title">
            {modelName(t, model)}
          </h2>
          {model.kind === 'fine_tuned' ? (
            <Badge variant="secondary">{model.lora ? t('models.detail.lora') : t('models.detail.full')}</Badge>
          ) : (
            <Badge variant="secondary">{model.builtin ? t('models.detail.builtin') : t('models.detail.base')}</Badge>
          )}
        </div>
        {model.displayName ? (
          <p className="font-mono text-xs break-all text-muted-foreground" data-testid="model-openai-id">
            {model.openaiId}
          </p>
        ) : null}
        {model.kind === 'fine_tuned' && model.description ? (
          <p className="mt-1 max-w-2xl text-sm whitespace-pre-wrap">{model.description}</p>
        ) : null}
      </div>
      <div className="flex flex-wrap gap-2">
        {model.kind === 'base' &&
        model.status === 'ready' &&
        model.training?.methods.length &&
        workspace.role !== 'viewer' ? (
          <Button asChild>
            <Link href={modelPaths.fineTune(workspace.slug, model.id)}>
              <FlaskConicalIcon aria-hidden />
              {t('models.training.fineTune')}
            </Link>
          </Button>
        ) : null}
        {model.kind === 'base' && model.status !== 'ready' ? null : (
          <DeployButton model={{ id: model.id, kind: model.kind, name: model.displayName ?? model.name }} />
        )}
        <Button asChild variant="outline">
          <Link href={`/w/${workspace.slug}/playground?model=${encodeURIComponent(model.openaiId)}`}>
            <MessagesSquareIcon aria-hidden />
            {t('models.detail.chat')}
          </Link>
        </Button>
        {model.kind === 'fine_tuned' && workspace.role !== 'viewer' ? (
          <Button variant="outline" onClick={() => setEditing(true)}>
            <PencilIcon aria-hidden />
            {t('models.detail.edit')}
          </Button>
        ) : null}
        {canDelete ? (
          <Button variant="outline" onClick={() => setConfirm(true)}>
            <Trash2Icon aria-hidden />
            {t('common.delete')}
          </Button>
        ) : null}
      </div>
      {model.kind === 'fine_tuned' && editing ? (
        <EditDialog model={model} path={path} onOpenChange={setEditing} onSaved={onChanged} />
      ) : null}
      <ConfirmDialog
        open={confirm}
        onOpenChange={setConfirm}
        title={t('models.detail.deleteTitle', { name: model.displayName ?? model.name })}
        description={t(
          model.kind === 'base' ? 'models.detail.deleteBaseDescription' : 'models.detail.deleteDescription',
        )}
        confirmLabel={t('common.delete')}
        onConfirm={async () => {
          try {
            await api(path, { method: 'DELETE' });
            toast({ title: t('models.detail.deleted') });
            router.push(`/w/${workspace.slug}/models`);
          } catch (error) {
            toast({
              variant: 'error',
              title: t('models.detail.deleteRefused'),
              description: failureText(error),
            });
          }
        }}
      />
    </div>
  );
}

function EditDialog({
  model,
  path,
  onOpenChange,
  onSaved,
}: {
  model: TFineTunedModelDetail;
  path: string;
  onOpenChange: (open: boolean) => void;
  onSaved: () => void;
}) {
  const t = useT();
  const toast = useToast();
  const [displayName, setDisplayName] = React.useState(model.displayName ?? '');
  const [description, setDescription] = React.useState(model.description ?? '');
  const [pending, setPending] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  return (
    <Dialog open onOpenChange={onOpenChange}>
      <DialogContent closeLabel={t('common.close')}>
        <DialogHeader>
          <DialogTitle>{t('models.detail.editTitle')}</DialogTitle>
          <DialogDescription>{t('models.detail.editHint')}</DialogDescription>
        </DialogHeader>
        <form
          className="grid gap-4"
          onSubmit={async (e) => {
            e.preventDefault();
            setPending(true);
            setError(null);
            try {
              await api(path, { method: 'PATCH', body: { displayName: displayName.trim() || null, description } });
              toast({ title: t('models.detail.saved') });
              onSaved();
              onOpenChange(false);
            } catch (err) {
              setError(err instanceof ApiError ? err.message : String(err));
            } finally {
              setPending(false);
            }
          }}
        >
          <FormField label={t('models.detail.displayName')} hint={t('models.detail.displayNameHint')}>
            <Input value={displayName} maxLength={128} onChange={(e) => setDisplayName(e.target.value)} />
          </FormField>
          <FormField label={t('models.detail.descriptionLabel')} hint={t('models.detail.descriptionHint')}>
            <textarea
              className="h-40 w-full rounded-md border bg-background p-2 text-sm"
              value={description}
              onChange={(e) => setDescription(e.target.value)}
            />
          </FormField>
          {error ? (
            <p role="alert" className="text-sm text-destructive">
              {error}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={pending}>
              {t('common.save')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

/** A term and its value, in the lineage and base-model cards. */
function Fact({ term, children, testId }: { term: string; children: React.ReactNode; testId?: string }) {
  return (
    <div className="grid gap-0.5">
      <dt className="text-xs text-muted-foreground">{term}</dt>
      <dd className="text-sm break-all" data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

const linkClass = 'font-medium text-primary underline-offset-4 hover:underline';

function Deployments({ deployments }: { deployments: TModelDetail['deployments'] }) {
  const t = useT();
  const { workspace } = useWorkspace();
  if (!deployments.length) return <>{t('models.detail.notDeployed')}</>;
  return (
    <span className="flex flex-wrap gap-2">
      {deployments.map((d) => (
        <Link key={d.id} href={`/w/${workspace.slug}/deployments/${d.id}`} className="inline-flex items-center gap-1.5">
          <span className={linkClass}>{d.name}</span>
          <DeploymentStatusBadge status={d.status} />
        </Link>
      ))}
    </span>
  );
}

function Lineage({ model }: { model: TFineTunedModelDetail }) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const hp = Object.entries(model.hyperparameters ?? {}).filter(([, v]) => v !== null && v !== undefined);
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <Card>
        <CardHeader>
          <CardTitle>{t('models.detail.lineage')}</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid gap-4 sm:grid-cols-2">
            <Fact term={t('models.colBase')} testId="lineage-base">
              <Link href={modelPaths.basePage(workspace.slug, model.baseModel.id)} className={linkClass}>
                {model.baseModel.displayName ?? model.baseModel.name}
              </Link>
            </Fact>
            <Fact term={t('models.colDataset')} testId="lineage-dataset">
              {model.datasetVersion ? (
                <Link href={`/w/${workspace.slug}/datasets/${model.datasetVersion.datasetId}`} className={linkClass}>
                  {t('models.detail.datasetVersion', {
                    name: model.datasetVersion.datasetName,
                    n: model.datasetVersion.number,
                  })}
                </Link>
              ) : (
                '—'
              )}
            </Fact>
            <Fact term={t('models.colJob')} testId="lineage-job">
              {model.job ? (
                <Link
                  href={`/w/${workspace.slug}/fine-tuning/${model.job.id}`}
                  className={`${linkClass} font-mono text-xs`}
                >
                  {model.job.id}
                </Link>
              ) : (
                '—'
              )}
            </Fact>
            <Fact term={t('models.detail.method')}>
              {model.lora ? t('models.detail.lora') : t('models.detail.full')}
            </Fact>
            <Fact term={t('models.colFinalLoss')} testId="lineage-train-loss">
              {formatMetric(model.trainLoss)}
            </Fact>
            <Fact term={t('models.colFinalEvalLoss')}>{formatMetric(model.evalLoss)}</Fact>
            <Fact term={t('models.colCreated')}>{formatDate(model.job?.finishedAt ?? model.createdAt, locale)}</Fact>
            <Fact term={t('models.detail.deployments')}>
              <Deployments deployments={model.deployments} />
            </Fact>
          </dl>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('models.colHyperparameters')}</CardTitle>
        </CardHeader>
        <CardContent>
          {hp.length ? (
            <dl className="grid grid-cols-2 gap-x-6 gap-y-2 font-mono text-xs">
              {hp.map(([k, v]) => (
                <div key={k} className="flex justify-between gap-3 border-b border-dashed pb-1">
                  <dt className="font-sans text-muted-foreground" title={k}>
                    {hyperparameterLabel(t, k)}
                  </dt>
                  <dd>{hyperparameterValue(t, v, formatHyperparameter, k)}</dd>
                </div>
              ))}
            </dl>
          ) : (
            <p className="text-sm text-muted-foreground">{t('models.detail.noHyperparameters')}</p>
          )}
        </CardContent>
      </Card>
    </div>
  );
}

function BaseInfo({ model, onChanged }: { model: TBaseModelDetail; onChanged: () => void }) {
  const t = useT();
  const locale = useLocale();
  return (
    <div className="grid gap-6">
      {model.download && model.download.status !== 'succeeded' ? (
        <Card>
          <CardHeader>
            <CardTitle>{t('models.download.title')}</CardTitle>
          </CardHeader>
          <CardContent>
            <DownloadProgress baseModelId={model.id} download={model.download} onChanged={onChanged} />
          </CardContent>
        </Card>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>{t('models.detail.about')}</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid gap-4 sm:grid-cols-3">
            <Fact term={t('models.colArch')} testId="base-arch">
              {model.architecture ?? (model.arch && model.arch !== 'unknown' ? model.arch : '—')}
            </Fact>
            <Fact term={t('models.colParams')}>{formatCompact(model.parameterCount, locale)}</Fact>
            <Fact term={t('models.detail.dtype')} testId="base-dtype">
              {model.dtype ?? '—'}
            </Fact>
            <Fact term={t('models.detail.contextLength')}>{model.contextLength ?? '—'}</Fact>
            <Fact term={t('models.colSource')}>
              {model.sourceRef
                ? `${model.sourceRef}${model.revision ? ` @ ${model.revision}` : ''}`
                : model.source
                  ? modelSourceText(t, model.source)
                  : '—'}
            </Fact>
            <Fact term={t('models.detail.size')}>{formatBytes(model.sizeBytes, locale)}</Fact>
            <Fact term={t('models.detail.builtOnIt')} testId="base-usage">
              {t('models.detail.usage', { models: model.usage.fineTunedModels, jobs: model.usage.jobs })}
            </Fact>
            <Fact term={t('models.detail.deployments')}>
              <Deployments deployments={model.deployments} />
            </Fact>
          </dl>
        </CardContent>
      </Card>
      {model.training ? <Training training={model.training} /> : null}
      {model.status === 'ready' ? (
        <Card>
          <CardHeader>
            <CardTitle>{t('models.detail.chatTemplate')}</CardTitle>
          </CardHeader>
          <CardContent>
            {model.chatTemplate ? (
              <pre
                className="max-h-72 overflow-auto rounded-md bg-muted p-3 font-mono text-xs whitespace-pre-wrap"
                data-testid="base-chat-template"
              >
                {model.chatTemplate}
              </pre>
            ) : (
              <p className="text-sm text-muted-foreground">{t('models.detail.noChatTemplate')}</p>
            )}
          </CardContent>
        </Card>
      ) : null}
    </div>
  );
}

/** Which methods and workers can train the model: the training core's verdict and the memory each method needs. */
function Training({ training }: { training: NonNullable<TBaseModelDetail['training']> }) {
  const t = useT();
  const locale = useLocale();
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('models.training.title')}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4">
        {training.unsupported ? (
          <p role="alert" className="text-sm text-destructive">
            {t('models.training.unsupported')}{' '}
            {/* the core's own sentence (English, naming config.json keys), shown as the technical detail it is */}
            <code className="font-mono text-xs">{training.unsupported}</code>
          </p>
        ) : (
          <dl className="grid gap-4 sm:grid-cols-2" data-testid="base-training">
            {(['sft_lora', 'sft_full'] as const).map((m) => (
              <Fact key={m} term={t(`models.training.method.${m}`)}>
                {t('models.training.needs', { memory: formatBytes(training.memory[m], locale) })}
                {' · '}
                {training.fits.of === 0
                  ? t('models.catalog.noWorkers')
                  : t('models.catalog.fits', { fits: training.fits[m], of: training.fits.of })}
              </Fact>
            ))}
          </dl>
        )}
        {training.workers.length ? (
          <ul className="grid gap-1 text-xs text-muted-foreground">
            {training.workers.map((w) => (
              <li key={w.workerId} className="font-mono">
                {t('models.training.worker', {
                  host: w.hostname,
                  cls: w.workerClass,
                  memory: formatBytes(w.memoryBytes, locale),
                })}
              </li>
            ))}
          </ul>
        ) : null}
        <p className="text-xs text-muted-foreground">
          {t('models.catalog.memoryNote', {
            batch: training.memory.settings.batchSize,
            cutoff: training.memory.settings.cutoffLen,
            rank: training.memory.settings.loraRank,
          })}
        </p>
      </CardContent>
    </Card>
  );
}
