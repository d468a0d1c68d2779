'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { FormField, type TFieldErrors } from '@/components/ui/form-field';
import { Input } from '@/components/ui/input';
import { api } from '@/lib/api-client';
import { authClient } from '@/lib/auth-client';
import { validate } from '@/lib/forms';
import { useLocale, useT } from '@/lib/i18n/client';
import { safeNext } from '@/lib/safe-next';
import { ZSignUp } from '@/lib/schemas';

/** `email`: pre-filled when the visitor came from an invitation (the address it was made for). */
export function SignUpForm({ next, email }: { next?: string; email?: string }) {
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
    const result = validate(ZSignUp, values, locale, {
      name: t('auth.nameRequired'),
      email: t('auth.invalidEmail'),
      password: t('auth.passwordTooShort'),
    });
    if (!result.ok) return setErrors(result.errors);
    setErrors({});
    setPending(true);
    const { error } = await authClient.signUp.email(result.data);
    if (error) {
      setPending(false);
      // better-auth limits sign-up attempts per client (3 per 10 s) and answers 429.
      if (error.status === 429) return setFormError(t('auth.rateLimited'));
      const taken = /ALREADY_EXISTS/i.test(error.code ?? '') || error.status === 422;
      if (taken) return setErrors({ email: t('auth.emailTaken') });
      return setFormError(t('errors.unknown'));
    }
    // Keep the language the person signed up in (new accounts start with the default locale).
    await api('/api/me', { method: 'PATCH', body: { locale } }).catch(() => undefined);
    router.replace(safeNext(next, '/onboarding'));
    router.refresh();
  }

  return (
    <div>
      <h1 className="text-2xl font-semibold tracking-tight">{t('auth.signUpTitle')}</h1>
      <p className="mt-2 text-sm text-muted-foreground">{t('auth.signUpSubtitle')}</p>
      <form
        onSubmit={onSubmit}
        noValidate
        onChange={(e) => clearError((e.target as Element).getAttribute('name') ?? '')}
        className="mt-8 grid gap-5"
      >
        <FormField label={t('auth.name')} error={errors.name}>
          <Input name="name" autoComplete="name" placeholder={t('auth.namePlaceholder')} autoFocus />
        </FormField>
        <FormField label={t('auth.email')} error={errors.email}>
          <Input
            name="email"
            type="email"
            autoComplete="email"
            placeholder={t('auth.emailPlaceholder')}
            defaultValue={email}
          />
        </FormField>
        <FormField label={t('auth.password')} hint={t('auth.passwordHint')} error={errors.password}>
          <Input name="password" type="password" autoComplete="new-password" />
        </FormField>
        {formError ? (
          <p role="alert" className="rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive">
            {formError}
          </p>
        ) : null}
        <Button type="submit" size="lg" loading={pending} className="w-full">
          {pending ? t('auth.signingUp') : t('auth.signUp')}
        </Button>
      </form>
      <p className="mt-6 text-center text-sm text-muted-foreground">
        {t('auth.haveAccount')}{' '}
        <Link
          href={next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in'}
          className="font-medium text-primary underline-offset-4 hover:underline"
        >
          {t('auth.signInLink')}
        </Link>
      </p>
    </div>
  );
}
