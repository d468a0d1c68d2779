'use client';

import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { api } from '@/lib/api-client';
import { apiPaths } from '@/lib/api-paths';
import { validate } from '@/lib/forms';
import { useLocale, useT } from '@/lib/i18n/client';
import { ZUpdateWorkspace } from '@/lib/schemas';
import { apiErrorMessage } from './errors';

export const canManage = (role: string) => role === 'owner' || role === 'admin';

export function GeneralSettings() {
  const t = useT();
  const locale = useLocale();
  const router = useRouter();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const [name, setName] = React.useState(workspace.name);
  const [errors, setErrors] = React.useState<TFieldErrors>({});
  const [pending, setPending] = React.useState(false);
  const editable = canManage(workspace.role);

  async function onSubmit(event: React.FormEvent) {
    event.preventDefault();
    const result = validate(ZUpdateWorkspace, { name }, locale, { name: t('common.required') });
    if (!result.ok) return setErrors(result.errors);
    setErrors({});
    setPending(true);
    try {
      await api(apiPaths.workspace(workspace.slug), { method: 'PATCH', body: result.data });
      toast({ title: t('settings.general.renamed') });
      router.refresh();
    } catch (error) {
      toast({ title: apiErrorMessage(error, t, locale), variant: 'error' });
    } finally {
      setPending(false);
    }
  }

  return (
    <Card>
      <form onSubmit={onSubmit} noValidate>
        <CardHeader>
          <CardTitle>{t('settings.general.title')}</CardTitle>
          <CardDescription>{t('settings.general.description')}</CardDescription>
        </CardHeader>
        <CardContent className="grid max-w-lg gap-5">
          <FormField label={t('workspace.name')} error={errors.name}>
            <Input name="name" value={name} disabled={!editable} onChange={(e) => setName(e.target.value)} />
          </FormField>
          <FormField label={t('settings.general.urlLabel')}>
            <Input readOnly value={`/w/${workspace.slug}`} className="font-mono text-xs" />
          </FormField>
        </CardContent>
        {editable ? (
          <CardFooter className="justify-end">
            <Button type="submit" loading={pending} disabled={name.trim() === workspace.name}>
              {pending ? t('common.saving') : t('common.save')}
            </Button>
          </CardFooter>
        ) : null}
      </form>
    </Card>
  );
}
