import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { LocaleSwitcher } from '@/components/locale-switcher';
import { Logo } from '@/components/logo';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { CreateWorkspaceForm } from '@/components/workspace/create-workspace-form';
import { getT } from '@/lib/i18n/server';
import { getMe } from '@/lib/me';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('onboarding.title') };
}

export default async function OnboardingPage() {
  const me = await getMe();
  if (!me) redirect('/sign-in?next=/onboarding');
  const t = await getT();
  return (
    <div className="flex min-h-dvh flex-col bg-[radial-gradient(50rem_25rem_at_50%_-5rem,color-mix(in_oklch,var(--primary)_12%,transparent),transparent)]">
      <div className="flex items-center justify-between p-4 sm:px-8">
        <Logo />
        <LocaleSwitcher signedIn />
      </div>
      <main className="flex flex-1 items-center justify-center px-6 pb-20">
        <Card className="w-full max-w-md shadow-lg">
          <CardHeader className="pb-6">
            <CardTitle className="text-xl">{t('onboarding.title')}</CardTitle>
            <CardDescription>{t('onboarding.subtitle')}</CardDescription>
          </CardHeader>
          <CardContent>
            <CreateWorkspaceForm submitLabel={t('onboarding.submit')} />
          </CardContent>
        </Card>
      </main>
    </div>
  );
}
