'use client';

import { RocketIcon } from 'lucide-react';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { z } from 'zod';
import { Button } from '@/components/ui/button';
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from '@/components/ui/dialog';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { Select, SelectContent, SelectGroup, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api, type TList } from '@/lib/api-client';
import { useT } from '@/lib/i18n/client';
import { deploymentPaths, type TDeployableModel, type TDeployment, type TModelKind } from './api';

type TBaseRow = { id: string; name: string; displayName?: string | null; status?: string | null };
type TFineTunedRow = { id: string; name: string; displayName?: string | null; baseModel?: { name?: string } | null };

/** Base and fine-tuned models of the workspace, fine-tuned first (what people deploy most). */
function useDeployableModels(slug: string, enabled: boolean) {
  const [state, setState] = React.useState<
    { status: 'loading' } | { status: 'error' } | { status: 'ready'; models: TDeployableModel[] }
  >({ status: 'loading' });
  React.useEffect(() => {
    if (!enabled) return;
    let live = true;
    Promise.all([
      api<TList<TFineTunedRow>>(deploymentPaths.fineTunedModels(slug)),
      api<TList<TBaseRow>>(deploymentPaths.baseModels(slug)),
    ])
      .then(([fineTuned, base]) => {
        if (!live) return;
        const models: TDeployableModel[] = [
          ...(fineTuned.data ?? []).map((m) => ({
            id: m.id,
            kind: 'fine_tuned' as const,
            name: m.displayName || m.name,
            detail: m.baseModel?.name,
          })),
          ...(base.data ?? [])
            .filter((m) => !m.status || m.status === 'ready')
            .map((m) => ({ id: m.id, kind: 'base' as const, name: m.displayName || m.name })),
        ];
        setState({ status: 'ready', models });
      })
      .catch(() => live && setState({ status: 'error' }));
    return () => {
      live = false;
    };
  }, [slug, enabled]);
  return state;
}

/** A deployment name a person would choose: the model's name in lower case, URL-safe. */
function suggestName(modelName: string): string {
  const base = modelName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return base || 'deployment';
}

const ZDeployForm = z.object({
  model: z.string().min(1),
  name: z
    .string()
    .trim()
    .min(1)
    .max(64)
    // The API's rule (ZCreateDeployment in packages/services/src/deployments.ts), checked here to answer before sending.
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/),
  replicas: z.coerce.number().int().min(1).max(16),
  contextSize: z.coerce.number().int().min(128).max(131072),
});

const modelValue = (m: { kind: TModelKind; id: string }) => `${m.kind}:${m.id}`;

/**
 * The Deploy dialog: a model picker (base + fine-tuned), a name, replicas and context size. On success it goes to
 * the new deployment's page, where its status moves from deploying to running.
 */
export function DeployDialog({
  open,
  onOpenChange,
  initialModel,
  onDeployed,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  initialModel?: { id: string; kind: TModelKind; name?: string };
  onDeployed?: (deployment: TDeployment) => void;
}) {
  const t = useT();
  const router = useRouter();
  const { workspace } = useWorkspace();
  const models = useDeployableModels(workspace.slug, open);
  const [model, setModel] = React.useState(initialModel ? modelValue(initialModel) : '');
  const [name, setName] = React.useState(initialModel?.name ? suggestName(initialModel.name) : '');
  const [nameTouched, setNameTouched] = React.useState(false);
  const [replicas, setReplicas] = React.useState('1');
  const [contextSize, setContextSize] = React.useState('4096');
  const [errors, setErrors] = React.useState<TFieldErrors>({});
  const [formError, setFormError] = React.useState<string | null>(null);
  const [pending, setPending] = React.useState(false);

  // Preselect the first model once the list arrives, and keep the name following the model until it is edited.
  React.useEffect(() => {
    if (models.status !== 'ready' || models.models.length === 0) return;
    const chosen = models.models.find((m) => modelValue(m) === model) ?? (model ? undefined : models.models[0]);
    if (!chosen) return;
    if (!model) setModel(modelValue(chosen));
    if (!nameTouched) setName(suggestName(chosen.name));
  }, [models, model, nameTouched]);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setFormError(null);
    const parsed = ZDeployForm.safeParse({ model, name, replicas, contextSize });
    if (!parsed.success) {
      const next: TFieldErrors = {};
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0]);
        next[field] ??= t(`deployments.form.invalid.${field}` as 'deployments.form.invalid.name');
      }
      setErrors(next);
      return;
    }
    setErrors({});
    const [kind, ...rest] = parsed.data.model.split(':');
    setPending(true);
    try {
      const deployment = await api<TDeployment>(deploymentPaths.list(workspace.slug), {
        method: 'POST',
        body: {
          name: parsed.data.name,
          modelId: rest.join(':'),
          modelKind: kind,
          replicas: parsed.data.replicas,
          contextSize: parsed.data.contextSize,
        },
      });
      onOpenChange(false);
      if (onDeployed) onDeployed(deployment);
      else router.push(`/w/${workspace.slug}/deployments/${deployment.id}`);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : null;
      const param = apiError?.param;
      if (param && ['name', 'replicas', 'contextSize'].includes(param)) setErrors({ [param]: apiError.message });
      else if (param === 'modelId' || param === 'modelKind') setErrors({ model: apiError?.message });
      else
        setFormError(apiError?.code === 'network' ? t('errors.network') : (apiError?.message ?? t('errors.unknown')));
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent closeLabel={t('common.close')}>
        <form onSubmit={submit} className="grid gap-4" noValidate>
          <DialogHeader>
            <DialogTitle>{t('deployments.form.title')}</DialogTitle>
            <DialogDescription>{t('deployments.form.description')}</DialogDescription>
          </DialogHeader>
          <FormField label={t('deployments.form.model')} error={errors.model}>
            <Select value={model} onValueChange={setModel} disabled={models.status !== 'ready'}>
              <SelectTrigger>
                <SelectValue
                  placeholder={
                    models.status === 'loading'
                      ? t('common.loading')
                      : models.status === 'error'
                        ? t('errors.unknown')
                        : t('deployments.form.modelPlaceholder')
                  }
                />
              </SelectTrigger>
              <SelectContent>
                {models.status === 'ready' && models.models.some((m) => m.kind === 'fine_tuned') ? (
                  <SelectGroup>
                    <div className="px-2 py-1 text-xs font-medium text-muted-foreground">
                      {t('deployments.kind.fine_tuned')}
                    </div>
                    {models.models
                      .filter((m) => m.kind === 'fine_tuned')
                      .map((m) => (
                        <SelectItem key={modelValue(m)} value={modelValue(m)}>
                          {m.name}
                        </SelectItem>
                      ))}
                  </SelectGroup>
                ) : null}
                {models.status === 'ready' && models.models.some((m) => m.kind === 'base') ? (
                  <SelectGroup>
                    <div className="px-2 py-1 text-xs font-medium text-muted-foreground">
                      {t('deployments.kind.base')}
                    </div>
                    {models.models
                      .filter((m) => m.kind === 'base')
                      .map((m) => (
                        <SelectItem key={modelValue(m)} value={modelValue(m)}>
                          {m.name}
                        </SelectItem>
                      ))}
                  </SelectGroup>
                ) : null}
              </SelectContent>
            </Select>
          </FormField>
          {models.status === 'ready' && models.models.length === 0 ? (
            <p className="text-sm text-muted-foreground">{t('deployments.form.noModels')}</p>
          ) : null}
          <FormField label={t('deployments.form.name')} hint={t('deployments.form.nameHint')} error={errors.name}>
            <Input
              value={name}
              autoComplete="off"
              onChange={(e) => {
                setNameTouched(true);
                setName(e.target.value);
              }}
            />
          </FormField>
          <div className="grid grid-cols-2 gap-4">
            <FormField
              label={t('deployments.form.replicas')}
              hint={t('deployments.form.replicasHint')}
              error={errors.replicas}
            >
              <Input type="number" min={1} max={16} value={replicas} onChange={(e) => setReplicas(e.target.value)} />
            </FormField>
            <FormField
              label={t('deployments.form.contextSize')}
              hint={t('deployments.form.contextSizeHint')}
              error={errors.contextSize}
            >
              <Input
                type="number"
                min={128}
                step={128}
                value={contextSize}
                onChange={(e) => setContextSize(e.target.value)}
              />
            </FormField>
          </div>
          {formError ? (
            <p role="alert" className="text-sm font-medium text-destructive">
              {formError}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={pending} disabled={models.status !== 'ready' || !model}>
              <RocketIcon aria-hidden />
              {t('deployments.form.submit')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
