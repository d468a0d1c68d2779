'use client';

import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { ApiError, api } from '@/lib/api-client';
import { useT } from '@/lib/i18n/client';
import { datasetPaths } from './api';

/** `{{name}}`-style placeholders found in the file, with a value for each; saving makes a new version. */
export function PlaceholdersForm({
  slug,
  datasetId,
  versionId,
  found,
  onNewVersion,
}: {
  slug: string;
  datasetId: string;
  versionId: string;
  found: Record<string, number>;
  onNewVersion: (id: string) => void;
}) {
  const t = useT();
  const names = Object.keys(found);
  const [values, setValues] = React.useState<Record<string, string>>({});
  const [error, setError] = React.useState<string | null>(null);
  const [saving, setSaving] = React.useState(false);
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const filled = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
      const created = await api<{ id: string }>(datasetPaths.placeholders(slug, datasetId, versionId), {
        method: 'POST',
        body: { values: filled },
      });
      onNewVersion(created.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  }
  return (
    <Card className="border-amber-500/40">
      <CardHeader>
        <CardTitle>{t('datasets.placeholdersTitle')}</CardTitle>
        <CardDescription>{t('datasets.placeholdersHint')}</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="space-y-3">
          {names.map((name) => (
            <div key={name} className="space-y-1">
              <Label htmlFor={`ph-${name}`}>
                {t('datasets.placeholderLabel', { name: `{{${name}}}`, count: found[name] })}
              </Label>
              <Input
                id={`ph-${name}`}
                value={values[name] ?? ''}
                onChange={(e) => setValues({ ...values, [name]: e.target.value })}
              />
            </div>
          ))}
          {error ? (
            <p role="alert" className="text-sm text-destructive">
              {error}
            </p>
          ) : null}
          <Button type="submit" loading={saving}>
            {t('datasets.replacePlaceholders')}
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
