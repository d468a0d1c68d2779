'use client';

import en from '@/messages/en.json';
import zhCN from '@/messages/zh-CN.json';
import './globals.css';

// Last resort when the root layout itself fails: no i18n provider exists at this point, so both languages are
// shown, straight from the catalogues.
export default function GlobalError({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body className="flex min-h-dvh items-center justify-center p-6">
        <main className="max-w-md text-center">
          <h1 className="text-xl font-semibold">{en.errors.title}</h1>
          <p className="mt-1 text-lg text-muted-foreground" lang="zh-CN">
            {zhCN.errors.title}
          </p>
          <p className="mt-4 text-sm text-muted-foreground">{en.errors.description}</p>
          <p className="mt-1 text-sm text-muted-foreground" lang="zh-CN">
            {zhCN.errors.description}
          </p>
          <button
            type="button"
            onClick={reset}
            className="mt-6 rounded-md bg-primary px-4 py-2 text-sm font-medium text-primary-foreground focus-visible:ring-[3px] focus-visible:ring-ring/40 outline-none"
          >
            {en.common.retry} · {zhCN.common.retry}
          </button>
        </main>
      </body>
    </html>
  );
}
