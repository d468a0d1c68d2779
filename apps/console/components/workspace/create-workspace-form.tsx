'use client';

import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { ApiError, api } from '@/lib/api-client';
import { apiPaths } from '@/lib/api-paths';
import { validate } from '@/lib/forms';
import { useLocale, useT } from '@/lib/i18n/client';
import { ZCreateWorkspace } from '@/lib/schemas';

/** "Acme Research Lab" -> "acme-research-lab"; names without Latin letters leave the slug for the user to type. */
function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}

export function CreateWorkspaceForm({ submitLabel, onCancel }: { submitLabel: string; onCancel?: () => void }) {
  const t = useT();
  const locale = useLocale();
  const router = useRouter();
  const toast = useToast();
  const [name, setName] = React.useState('');
  const [slug, setSlug] = React.useState('');
  const [slugEdited, setSlugEdited] = React.useState(false);
  const [errors, setErrors] = React.useState<TFieldErrors>({});
  // A field's error goes away as soon as the user edits that field.
  const clearError = (field: string) => setErrors((prev) => (prev[field] ? { ...prev, [field]: undefined } : prev));
  const [pending, setPending] = React.useState(false);

  async function onSubmit(event: React.FormEvent) {
    event.preventDefault();
    const result = validate(ZCreateWorkspace, { name, slug }, locale, {
      name: t('common.required'),
      slug: t('workspace.slugHint'),
    });
    if (!result.ok) return setErrors(result.errors);
    setErrors({});
    setPending(true);
    try {
      const created = await api<{ slug: string }>(apiPaths.workspaces, { method: 'POST', body: result.data });
      toast({ title: t('workspace.created') });
      router.push(`/w/${created.slug ?? result.data.slug}/datasets`);
      router.refresh();
    } catch (error) {
      setPending(false);
      if (error instanceof ApiError && error.code === 'conflict') return setErrors({ slug: t('workspace.slugTaken') });
      if (error instanceof ApiError && error.param) {
        return setErrors({ [error.param]: locale === 'en' ? error.message : t('errors.unknown') });
      }
      toast({ title: t('errors.unknown'), variant: 'error' });
    }
  }

  return (
    <form
      onSubmit={onSubmit}
      noValidate
      onChange={(e) => clearError((e.target as Element).getAttribute('name') ?? '')}
      className="grid gap-5"
    >
      <FormField label={t('workspace.name')} error={errors.name}>
        <Input
          name="name"
          value={name}
          autoFocus
          placeholder={t('workspace.namePlaceholder')}
          onChange={(e) => {
            setName(e.target.value);
            if (!slugEdited) setSlug(slugify(e.target.value));
          }}
        />
      </FormField>
      <FormField label={t('workspace.slug')} hint={t('workspace.slugHint')} error={errors.slug}>
        <SlugInput
          value={slug}
          onChange={(value) => {
            setSlugEdited(true);
            setSlug(value.toLowerCase());
          }}
        />
      </FormField>
      <div className="flex justify-end gap-2 pt-1">
        {onCancel ? (
          <Button type="button" variant="outline" onClick={onCancel}>
            {t('common.cancel')}
          </Button>
        ) : null}
        <Button
          type="submit"
          loading={pending}
          className={onCancel ? undefined : 'w-full'}
          size={onCancel ? 'default' : 'lg'}
        >
          {pending ? t('common.creating') : submitLabel}
        </Button>
      </div>
    </form>
  );
}

/** The slug input with its fixed `/w/` prefix shown inside the field, as it appears in the address bar. */
function SlugInput({
  value,
  onChange,
  ...aria
}: { value: string; onChange: (value: string) => void } & Record<string, unknown>) {
  return (
    <div className="flex h-9 w-full items-center overflow-hidden rounded-md border border-input bg-card shadow-xs focus-within:border-ring focus-within:ring-[3px] focus-within:ring-ring/30 has-[[aria-invalid=true]]:border-destructive">
      <span className="flex h-full items-center border-r bg-muted/60 px-3 font-mono text-xs text-muted-foreground select-none">
        /w/
      </span>
      <input
        {...aria}
        name="slug"
        value={value}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        placeholder="my-team"
        onChange={(e) => onChange(e.target.value)}
        className="h-full min-w-0 flex-1 bg-transparent px-3 font-mono text-sm outline-none placeholder:text-muted-foreground/70"
      />
    </div>
  );
}
