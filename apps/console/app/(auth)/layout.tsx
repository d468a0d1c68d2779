import { CheckCircle2Icon } from 'lucide-react';
import type * as React from 'react';
import { LocaleSwitcher } from '@/components/locale-switcher';
import { Logo } from '@/components/logo';
import { getT } from '@/lib/i18n/server';

export default async function AuthLayout({ children }: { children: React.ReactNode }) {
  const t = await getT();
  return (
    <div className="grid min-h-dvh lg:grid-cols-[1fr_1.1fr]">
      <aside className="relative hidden flex-col justify-between overflow-hidden bg-[oklch(0.22_0.06_268)] p-10 text-white lg:flex">
        <div
          aria-hidden
          className="pointer-events-none absolute inset-0 bg-[radial-gradient(60rem_30rem_at_-10%_-10%,oklch(0.55_0.2_268/0.55),transparent),radial-gradient(40rem_30rem_at_120%_120%,oklch(0.6_0.18_300/0.35),transparent)]"
        />
        <Logo className="relative text-lg" />
        <div className="relative max-w-md">
          <p className="text-3xl leading-tight font-semibold tracking-tight text-balance">{t('auth.tagline')}</p>
          <ul className="mt-8 space-y-3 text-sm text-white/80">
            {(['auth.feature1', 'auth.feature2', 'auth.feature3'] as const).map((key) => (
              <li key={key} className="flex items-center gap-3">
                <CheckCircle2Icon className="size-4 text-white/90" aria-hidden />
                {t(key)}
              </li>
            ))}
          </ul>
        </div>
        <p className="relative text-xs text-white/50">© Crucible</p>
      </aside>
      <main className="flex flex-col">
        <div className="flex items-center justify-between p-4 lg:justify-end">
          <Logo className="lg:hidden" />
          <LocaleSwitcher />
        </div>
        <div className="flex flex-1 items-center justify-center px-6 pb-16">
          <div className="w-full max-w-sm">{children}</div>
        </div>
      </main>
    </div>
  );
}
