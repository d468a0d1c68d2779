'use client';

import { DownloadIcon, HammerIcon, RotateCwIcon } from 'lucide-react';
import * as React from 'react';
import { CodeBlock } from '@/components/playground/code-dialog';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api, failureText } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatBytes } from '@/lib/utils';
import { EXPORT_DTYPES, type TArtifact, type TModelDetail } from './types';

const SNIPPETS = ['transformers', 'llamacpp', 'ollama', 'curl', 'openai'] as const;

/** One artifact row: what it is, its files, and Download / Build / Retry / a progress note. */
function ArtifactRow({
  artifact,
  onBuild,
  canBuild,
}: {
  artifact: TArtifact;
  onBuild: (a: TArtifact, dtype: string) => Promise<void>;
  canBuild: boolean;
}) {
  const t = useT();
  const locale = useLocale();
  const [pending, setPending] = React.useState(false);
  const build = async () => {
    setPending(true);
    try {
      await onBuild(artifact, artifact.dtype ?? '');
    } finally {
      setPending(false);
    }
  };
  const label = t(`models.detail.artifact.${artifact.id}`);
  return (
    <TableRow
      data-testid={`artifact-${artifact.id}${artifact.dtype ? `-${artifact.dtype}` : ''}`}
      data-state={artifact.state}
    >
      <TableCell className="whitespace-normal">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium">{label}</span>
          {artifact.dtype ? <Badge variant="outline">{artifact.dtype}</Badge> : null}
        </div>
        <p className="mt-0.5 text-xs text-muted-foreground">{t(`models.detail.artifactHint.${artifact.id}`)}</p>
      </TableCell>
      <TableCell className="whitespace-normal font-mono text-xs text-muted-foreground">
        {artifact.files.length ? artifact.files.map((f) => f.name).join(', ') : '—'}
      </TableCell>
      <TableCell className="tabular-nums">
        {artifact.state === 'ready' ? formatBytes(artifact.sizeBytes, locale) : '—'}
      </TableCell>
      <TableCell className="text-right">
        {artifact.state === 'ready' ? (
          <Button asChild size="sm" variant="outline">
            <a href={artifact.downloadPath} download aria-label={t('models.detail.downloadLabel', { what: label })}>
              <DownloadIcon aria-hidden />
              {t('models.detail.download')}
            </a>
          </Button>
        ) : artifact.state === 'queued' || artifact.state === 'running' ? (
          <span role="status" className="text-sm text-muted-foreground">
            {t(`models.detail.state.${artifact.state}`)}
          </span>
        ) : canBuild ? (
          <div className="grid justify-items-end gap-1">
            <Button size="sm" variant="outline" loading={pending} onClick={build}>
              {artifact.state === 'failed' ? <RotateCwIcon aria-hidden /> : <HammerIcon aria-hidden />}
              {artifact.state === 'failed' ? t('models.detail.retry') : t('models.detail.build')}
            </Button>
            {artifact.export?.error ? (
              <p role="alert" className="max-w-64 text-xs text-destructive">
                {artifact.export.error}
              </p>
            ) : null}
          </div>
        ) : (
          <span className="text-sm text-muted-foreground">{t('models.detail.state.missing')}</span>
        )}
      </TableCell>
    </TableRow>
  );
}

/** "Build another dtype" for one kind of export (merged, gguf, gguf-base). */
function OtherDtype({
  group,
  onBuild,
}: {
  group: TArtifact[];
  onBuild: (a: TArtifact, dtype: string) => Promise<void>;
}) {
  const t = useT();
  const first = group[0];
  const taken = new Set(group.map((a) => a.dtype));
  const free = first.export ? EXPORT_DTYPES[first.export.format].filter((d) => !taken.has(d)) : [];
  const [dtype, setDtype] = React.useState<string>(free[0] ?? '');
  const [pending, setPending] = React.useState(false);
  if (!free.length) return null;
  const label = t(`models.detail.artifact.${first.id}`);
  return (
    <div className="flex items-center justify-end gap-2">
      <Select value={dtype} onValueChange={setDtype}>
        <SelectTrigger className="h-8 w-28" aria-label={t('models.detail.otherDtype', { what: label })}>
          <SelectValue />
        </SelectTrigger>
        <SelectContent>
          {free.map((d) => (
            <SelectItem key={d} value={d}>
              {d}
            </SelectItem>
          ))}
        </SelectContent>
      </Select>
      <Button
        size="sm"
        variant="ghost"
        loading={pending}
        onClick={async () => {
          setPending(true);
          try {
            await onBuild(first, dtype);
          } finally {
            setPending(false);
          }
        }}
      >
        <HammerIcon aria-hidden />
        {t('models.detail.buildAs', { what: label, dtype })}
      </Button>
    </div>
  );
}

export function ModelDownloads({
  model,
  basePath,
  onChanged,
}: {
  model: TModelDetail;
  /** API path of the model, for POST .../exports */
  basePath: string;
  onChanged: () => void;
}) {
  const t = useT();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const canBuild = workspace.role !== 'viewer';
  const build = async (a: TArtifact, dtype: string) => {
    if (!a.export) return;
    try {
      await api(`${basePath}/exports`, {
        method: 'POST',
        body: { format: a.export.format, dtype, ...(a.export.of === 'base' ? { of: 'base' } : {}) },
      });
      toast({ title: t('models.detail.buildQueued') });
      onChanged();
    } catch (error) {
      toast({
        variant: 'error',
        title: t('errors.title'),
        description: failureText(error),
      });
    }
  };
  const groups = new Map<string, TArtifact[]>();
  for (const a of model.artifacts) if (a.export) groups.set(a.id, [...(groups.get(a.id) ?? []), a]);
  return (
    <>
      <Card>
        <CardHeader>
          <CardTitle>{t('models.detail.downloads')}</CardTitle>
          <CardDescription>{t('models.detail.downloadsHint')}</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-3">
          <Table aria-label={t('models.detail.downloads')}>
            <TableHeader>
              <TableRow>
                <TableHead>{t('models.detail.colWhat')}</TableHead>
                <TableHead>{t('models.detail.colFiles')}</TableHead>
                <TableHead>{t('models.detail.colSize')}</TableHead>
                <TableHead className="text-right">{t('common.actions')}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {model.artifacts.map((a) => (
                <ArtifactRow key={`${a.id}-${a.dtype ?? ''}`} artifact={a} onBuild={build} canBuild={canBuild} />
              ))}
            </TableBody>
          </Table>
          {canBuild ? [...groups.values()].map((g) => <OtherDtype key={g[0].id} group={g} onBuild={build} />) : null}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('models.detail.use')}</CardTitle>
          <CardDescription>{t('models.detail.useHint')}</CardDescription>
        </CardHeader>
        <CardContent>
          <Tabs defaultValue="transformers">
            <TabsList>
              {SNIPPETS.map((s) => (
                <TabsTrigger key={s} value={s}>
                  {t(`models.detail.snippet.${s}`)}
                </TabsTrigger>
              ))}
            </TabsList>
            {SNIPPETS.map((s) => (
              <TabsContent key={s} value={s} className="pt-4">
                <CodeBlock code={model.snippets[s]} testId={`snippet-${s}`} />
              </TabsContent>
            ))}
          </Tabs>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('models.detail.card')}</CardTitle>
          <CardDescription>{t('models.detail.cardHint')}</CardDescription>
        </CardHeader>
        <CardContent>
          <CodeBlock code={model.card} testId="model-card" />
        </CardContent>
      </Card>
    </>
  );
}
