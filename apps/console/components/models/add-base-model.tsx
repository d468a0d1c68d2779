'use client';

import { FolderIcon, GlobeIcon, PlusIcon, UploadCloudIcon } from 'lucide-react';
import * as React from 'react';
import { formatDuration } from '@/components/fine-tuning/format';
import { ProgressBar } from '@/components/fine-tuning/progress-bar';
import { Button } from '@/components/ui/button';
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
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatBytes } from '@/lib/utils';
import {
  findResumableUpload,
  forgetUpload,
  type TModelUpload,
  type TUploadProgress,
  uploadModelArchive,
} from './archive-upload';
import { modelPaths, type TCatalog } from './types';

type TSource = 'huggingface' | 'modelscope' | 'directory' | 'upload';
export type TAddPreset = { source: 'huggingface' | 'modelscope'; repo: string };

/**
 * "Add base model" (issue 14): from Hugging Face or ModelScope (repo id, revision, an access token for gated repos
 * that the workspace keeps encrypted), from a folder of the workers' shared storage, or from an uploaded .tar/.zip
 * of a model directory. The download itself runs on a worker; the models table shows its progress bar.
 */
export function AddBaseModelDialog({
  open,
  onOpenChange,
  preset,
  catalog,
  onAdded,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  preset: TAddPreset | null;
  catalog: TCatalog | null;
  onAdded: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const [source, setSource] = React.useState<TSource>(preset?.source ?? 'huggingface');
  const [repo, setRepo] = React.useState(preset?.repo ?? '');
  const [revision, setRevision] = React.useState('');
  const [token, setToken] = React.useState('');
  const [folder, setFolder] = React.useState('');
  const [file, setFile] = React.useState<File | null>(null);
  const [name, setName] = React.useState('');
  const [progress, setProgress] = React.useState<TUploadProgress | null>(null);
  const [resumable, setResumable] = React.useState<TModelUpload | null>(null);
  const uploading = React.useRef<AbortController | null>(null);
  const [pending, setPending] = React.useState(false);
  const [error, setError] = React.useState<{ message: string; param: string | null } | null>(null);
  React.useEffect(() => {
    if (open) {
      setSource(preset?.source ?? 'huggingface');
      setRepo(preset?.repo ?? '');
      setError(null);
      setProgress(null);
    } else {
      uploading.current?.abort(); // closing the dialog stops the upload; choosing the file again resumes it
    }
  }, [open, preset]);

  async function chooseFile(chosen: File | null) {
    setFile(chosen);
    setResumable(null);
    if (chosen) setResumable(await findResumableUpload(workspace.slug, chosen));
  }
  const hub = source === 'huggingface' || source === 'modelscope' ? source : null;
  const stored = hub ? catalog?.hubTokens[hub] : null;
  const fieldError = (param: string) => (error?.param === param ? error.message : undefined);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setPending(true);
    setError(null);
    try {
      const common = { ...(name.trim() ? { name: name.trim() } : {}) };
      let body: Record<string, unknown>;
      if (hub) {
        body = {
          source: hub,
          repo: repo.trim(),
          ...(revision.trim() ? { revision: revision.trim() } : {}),
          ...(token.trim() ? { token: token.trim() } : {}),
          ...common,
        };
      } else if (source === 'directory') {
        body = { source, path: folder.trim(), ...common };
      } else {
        if (!file) throw new ApiError(400, 'invalid_request', t('models.add.chooseArchive'), 'file');
        const controller = new AbortController();
        uploading.current = controller;
        let uploadId: string;
        try {
          uploadId = await uploadModelArchive(workspace.slug, file, setProgress, controller.signal);
        } catch (err) {
          if (err instanceof ApiError && err.code !== 'upload_failed') throw err;
          // A part that got no answer at all (status 0) says so in the page's language.
          const reason =
            err instanceof ApiError && err.status === 0
              ? t('models.add.partNoConnection', { part: err.message })
              : err instanceof Error
                ? err.message
                : String(err);
          throw new ApiError(0, 'upload_failed', t('models.add.uploadStopped', { reason }), 'file');
        } finally {
          uploading.current = null;
        }
        body = { source, uploadId, ...common };
      }
      await api(modelPaths.baseModels(workspace.slug), { method: 'POST', body });
      if (source === 'upload' && file) forgetUpload(workspace.slug, file);
      toast({ title: t('models.add.started') });
      setToken('');
      onAdded();
      onOpenChange(false);
    } catch (err) {
      setError(
        err instanceof ApiError
          ? { message: err.message, param: err.param ?? null }
          : { message: String(err), param: null },
      );
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent closeLabel={t('common.close')} className="sm:max-w-xl">
        <DialogHeader>
          <DialogTitle>{t('models.add.title')}</DialogTitle>
          <DialogDescription>{t('models.add.description')}</DialogDescription>
        </DialogHeader>
        <form className="grid gap-4" onSubmit={submit}>
          <Tabs value={source} onValueChange={(v) => setSource(v as TSource)}>
            <TabsList className="flex-wrap">
              <TabsTrigger value="huggingface">
                <GlobeIcon aria-hidden />
                {t('models.add.hfTab')}
              </TabsTrigger>
              <TabsTrigger value="modelscope">
                <GlobeIcon aria-hidden />
                {t('models.add.msTab')}
              </TabsTrigger>
              <TabsTrigger value="directory">
                <FolderIcon aria-hidden />
                {t('models.add.folderTab')}
              </TabsTrigger>
              <TabsTrigger value="upload">
                <UploadCloudIcon aria-hidden />
                {t('models.add.uploadTab')}
              </TabsTrigger>
            </TabsList>
            {(['huggingface', 'modelscope'] as const).map((h) => (
              <TabsContent key={h} value={h} className="grid gap-4 pt-4">
                <FormField label={t('models.add.repo')} hint={t('models.add.repoHint')} error={fieldError('repo')}>
                  <Input value={repo} onChange={(e) => setRepo(e.target.value)} autoComplete="off" required />
                </FormField>
                <FormField
                  label={t('models.add.revision')}
                  hint={t('models.add.revisionHint', { branch: h === 'huggingface' ? 'main' : 'master' })}
                  error={fieldError('revision')}
                >
                  <Input value={revision} onChange={(e) => setRevision(e.target.value)} autoComplete="off" />
                </FormField>
                <FormField
                  label={t('models.add.token')}
                  hint={stored ? t('models.add.tokenStored', { hint: stored }) : t('models.add.tokenHint')}
                  error={fieldError('token')}
                >
                  <Input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
                </FormField>
              </TabsContent>
            ))}
            <TabsContent value="directory" className="grid gap-4 pt-4">
              <FormField label={t('models.add.folder')} hint={t('models.add.folderHint')} error={fieldError('path')}>
                <Input value={folder} onChange={(e) => setFolder(e.target.value)} autoComplete="off" />
              </FormField>
            </TabsContent>
            <TabsContent value="upload" className="grid gap-4 pt-4">
              <FormField
                label={t('models.add.archive')}
                hint={t('models.add.archiveHint', { max: formatBytes(catalog?.uploadMaxBytes ?? null, locale) })}
                error={fieldError('file') ?? fieldError('fileName') ?? fieldError('size')}
              >
                <Input
                  type="file"
                  accept=".tar,.tgz,.gz,.zip"
                  onChange={(e) => void chooseFile(e.target.files?.[0] ?? null)}
                />
              </FormField>
              {resumable && !progress ? (
                <p className="text-sm text-muted-foreground" data-testid="upload-resumable">
                  {t('models.add.resumable', {
                    done: formatBytes(resumable.uploadedBytes, locale),
                    total: formatBytes(resumable.size, locale),
                  })}
                </p>
              ) : null}
              {progress ? <UploadProgress progress={progress} /> : null}
            </TabsContent>
          </Tabs>
          <FormField label={t('models.add.name')} hint={t('models.add.nameHint')} error={fieldError('name')}>
            <Input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} autoComplete="off" />
          </FormField>
          {error &&
          !['repo', 'revision', 'token', 'path', 'file', 'fileName', 'size', 'name'].includes(error.param ?? '') ? (
            <p role="alert" className="text-sm text-destructive">
              {error.message}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={pending}>
              <PlusIcon aria-hidden />
              {t('models.add.submit')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

/** The archive upload's bar: bytes, speed and time left, as the download bar shows them. */
function UploadProgress({ progress }: { progress: TUploadProgress }) {
  const t = useT();
  const locale = useLocale();
  const pct = progress.total > 0 ? (100 * progress.done) / progress.total : 0;
  return (
    <div className="grid gap-1.5" data-testid="upload-progress" data-percent={Math.floor(pct)}>
      <ProgressBar value={pct} label={t('models.add.uploading')} />
      <p className="text-xs text-muted-foreground tabular-nums">
        {t('models.add.uploadBytes', {
          done: formatBytes(progress.done, locale),
          total: formatBytes(progress.total, locale),
          percent: Math.floor(pct),
        })}
        {progress.bytesPerSecond
          ? ` · ${t('models.download.speed', { speed: formatBytes(progress.bytesPerSecond, locale) })}`
          : ''}
        {progress.etaSeconds !== null
          ? ` · ${t('models.download.eta', { eta: formatDuration(progress.etaSeconds, locale) })}`
          : ''}
      </p>
      {progress.resumedBytes > 0 ? (
        <p className="text-xs text-muted-foreground" data-testid="upload-resumed">
          {t('models.add.resumed', { done: formatBytes(progress.resumedBytes, locale) })}
        </p>
      ) : null}
    </div>
  );
}
