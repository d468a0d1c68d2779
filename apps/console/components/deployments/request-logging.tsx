'use client';

import { ScrollTextIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api } from '@/lib/api-client';
import { useT } from '@/lib/i18n/client';
import { deploymentPaths, type TDeployment } from './api';

/** A deployment's request logs (issue 16): keep its chats and answers or not, and for how many days. */
export function RequestLogging({ deployment, onChanged }: { deployment: TDeployment; onChanged: () => void }) {
  const t = useT();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const [enabled, setEnabled] = React.useState(deployment.logRequests ?? false);
  const [days, setDays] = React.useState(String(deployment.logRetentionDays ?? 30));
  const [error, setError] = React.useState<string | undefined>();
  const [saving, setSaving] = React.useState(false);
  const canManage = workspace.role !== 'viewer';

  async function save() {
    setSaving(true);
    setError(undefined);
    try {
      await api(deploymentPaths.one(workspace.slug, deployment.id), {
        method: 'PATCH',
        body: { logRequests: enabled, logRetentionDays: Number(days) },
      });
      toast({ title: t('deployments.logging.saved') });
      onChanged();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setSaving(false);
    }
  }

  return (
    <Card data-testid="request-logging">
      <CardHeader className="pb-3">
        <CardTitle className="text-sm">{t('deployments.logging.title')}</CardTitle>
        <CardDescription>{t('deployments.logging.description')}</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-end gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <label className="flex h-9 items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={enabled}
              disabled={!canManage}
              onChange={(e) => setEnabled(e.target.checked)}
            />
            {t('deployments.logging.enabled')}
          </label>
          <FormField
            label={t('deployments.logging.retention')}
            hint={t('deployments.logging.retentionHint')}
            error={error}
            className="w-56"
          >
            <Input
              type="number"
              min={1}
              max={3650}
              value={days}
              disabled={!canManage}
              onChange={(e) => setDays(e.target.value)}
            />
          </FormField>
          <div className="flex gap-2">
            <Button type="submit" loading={saving} disabled={!canManage}>
              {t('deployments.logging.save')}
            </Button>
            <Button asChild variant="outline">
              <Link href={`/w/${workspace.slug}/logs?deployment=${encodeURIComponent(deployment.id)}`}>
                <ScrollTextIcon aria-hidden />
                {t('deployments.logging.viewLogs')}
              </Link>
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
