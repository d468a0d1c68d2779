import type { Metadata } from 'next';
import { headers } from 'next/headers';
import type * as React from 'react';
import { Toaster } from '@/components/ui/toast';
import { I18nProvider } from '@/lib/i18n/client';
import { getMessages } from '@/lib/i18n/messages';
import { getLocale, getT } from '@/lib/i18n/server';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  const t = await getT();
  return {
    title: { default: t('meta.title'), template: `%s · ${t('meta.title')}` },
    description: t('meta.description'),
  };
}

// Runs before first paint so a dark-mode OS never sees a white flash.
const themeScript = `try{if(matchMedia('(prefers-color-scheme: dark)').matches)document.documentElement.classList.add('dark')}catch(e){}`;

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const locale = await getLocale();
  const messages = getMessages(locale);
  // The front door (server.ts) puts a fresh nonce in each page request's CSP; inline scripts run only with it.
  const nonce = /'nonce-([^']+)'/.exec((await headers()).get('content-security-policy') ?? '')?.[1];
  return (
    <html lang={locale} suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: constant script, no user input */}
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body className="min-h-dvh">
        <I18nProvider locale={locale} messages={messages}>
          <Toaster closeLabel={messages.common.close}>{children}</Toaster>
        </I18nProvider>
      </body>
    </html>
  );
}
