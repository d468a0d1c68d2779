import { ArrowLeftIcon } from 'lucide-react';
import Link from 'next/link';
import { notFound, redirect } from 'next/navigation';
import type * as React from 'react';
import { Logo } from '@/components/logo';
import { getT } from '@/lib/i18n/server';
import { getMe } from '@/lib/me';

/**
 * The frame of the instance admin pages (/admin/...): only instance admins (user.role "admin", set with
 * `crucible user create --admin` or `crucible user promote`); anyone else gets the same 404 as for a page that does
 * not exist. The API routes behind these pages check the role again.
 */
export default async function AdminLayout({ children }: { children: React.ReactNode }) {
  const me = await getMe();
  if (!me) redirect(`/sign-in?next=${encodeURIComponent('/admin/billing')}`);
  if (!me.instanceAdmin) notFound();
  const t = await getT();
  return (
    <div className="min-h-dvh">
      <header className="sticky top-0 z-30 border-b bg-background/85 backdrop-blur">
        <div className="mx-auto flex h-14 w-full max-w-7xl items-center gap-4 px-4 sm:px-8">
          <Logo />
          <span className="text-sm font-medium text-muted-foreground">{t('adminBilling.shell')}</span>
          <Link
            href="/"
            className="ml-auto inline-flex items-center gap-1.5 rounded-md px-2 py-1 text-sm text-muted-foreground hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/40 outline-none"
          >
            <ArrowLeftIcon className="size-4" aria-hidden />
            {t('adminBilling.back')}
          </Link>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="min-w-0 outline-none">
        <div className="mx-auto w-full max-w-7xl px-4 py-8 sm:px-8 lg:py-10">{children}</div>
      </main>
    </div>
  );
}
