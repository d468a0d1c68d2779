'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { authClient } from '@/lib/auth-client';
import { validate } from '@/lib/forms';
import { useLocale, useT } from '@/lib/i18n/client';
import { safeNext } from '@/lib/safe-next';
import { ZSignIn } from '@/lib/schemas';

export function SignInForm({ next, email }: { next?: string; email?: string }) {
  const t = useT();
  const locale = useLocale();
  const router = useRouter();
  const [errors, setErrors] = React.useState<TFieldErrors>({});
  // A field's error goes away as soon as the user edits that field.
  const clearError = (field: string) => setErrors((prev) => (prev[field] ? { ...prev, [field]: undefined } : prev));
  const [formError, setFormError] = React.useState<string | null>(null);
  const [pending, setPending] = React.useState(false);

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFormError(null);
    const values = Object.fromEntries(new FormData(event.currentTarget));
    const result = validate(ZSignIn, values, locale, {
      email: t('auth.invalidEmail'),
      password: t('common.required'),
    });
    if (!result.ok) return setErrors(result.errors);
    setErrors({});
    setPending(true);
    const { error } = await authClient.signIn.email(result.data);
    if (error) {
      setPending(false);
      // better-auth limits sign-in attempts per client (3 per 10 s) and answers 429.
      if (error.status === 429) return setFormError(t('auth.rateLimited'));
      return setFormError(error.status === 401 ? t('auth.invalidCredentials') : t('errors.unknown'));
    }
    router.replace(safeNext(next));
    router.refresh();
  }

  return (
    <div>
      <h1 className="text-2xl font-semibold tracking-tight">{t('auth.signInTitle')}</h1>
      <p className="mt-2 text-sm text-muted-foreground">{t('auth.signInSubtitle')}</p>
      <form
        onSubmit={onSubmit}
        noValidate
        onChange={(e) => clearError((e.target as Element).getAttribute('name') ?? '')}
        className="mt-8 grid gap-5"
      >
        <FormField label={t('auth.email')} error={errors.email}>
          <Input
            name="email"
            type="email"
            autoComplete="email"
            placeholder={t('auth.emailPlaceholder')}
            defaultValue={email}
            autoFocus
          />
        </FormField>
        <FormField label={t('auth.password')} error={errors.password}>
          <Input name="password" type="password" autoComplete="current-password" />
        </FormField>
        {formError ? (
          <p role="alert" className="rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive">
            {formError}
          </p>
        ) : null}
        <Button type="submit" size="lg" loading={pending} className="w-full">
          {pending ? t('auth.signingIn') : t('auth.signIn')}
        </Button>
      </form>
      <p className="mt-6 text-center text-sm text-muted-foreground">
        {t('auth.noAccount')}{' '}
        <Link
          href={next ? `/sign-up?next=${encodeURIComponent(next)}` : '/sign-up'}
          className="font-medium text-primary underline-offset-4 hover:underline"
        >
          {t('auth.signUpLink')}
        </Link>
      </p>
    </div>
  );
}
