'use client';

import * as DialogPrimitive from '@radix-ui/react-dialog';
import { MenuIcon } from 'lucide-react';
import * as React from 'react';
import { Logo } from '@/components/logo';
import { Button } from '@/components/ui/button';
import { WorkspaceProvider } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';
import type { TMe, TMyWorkspace } from '@/lib/me';
import { LAST_WORKSPACE_COOKIE } from '@/lib/workspace-cookie';
import { SidebarNav } from './sidebar-nav';
import { UserMenu } from './user-menu';
import { WorkspaceSwitcher } from './workspace-switcher';

function SidebarBody({ slug, onNavigate }: { slug: string; onNavigate?: () => void }) {
  return (
    <div className="flex h-full flex-col gap-5 p-3">
      <div className="px-2 pt-2">
        <Logo />
      </div>
      <WorkspaceSwitcher />
      <div className="flex-1 overflow-y-auto">
        <SidebarNav slug={slug} onNavigate={onNavigate} />
      </div>
      <div className="border-t border-sidebar-border pt-3">
        <UserMenu />
      </div>
    </div>
  );
}

/** The signed-in frame of every /w/[slug] page: sidebar (a drawer on small screens), skip link and main area. */
export function AppShell({ me, workspace, children }: { me: TMe; workspace: TMyWorkspace; children: React.ReactNode }) {
  const t = useT();
  const [drawerOpen, setDrawerOpen] = React.useState(false);
  const value = React.useMemo(() => ({ me, workspace }), [me, workspace]);

  // Set once React has taken over the server HTML; browser tests wait for it before using keyboard shortcuts
  // (a key pressed on server-rendered markup before hydration does nothing).
  const [hydrated, setHydrated] = React.useState(false);
  React.useEffect(() => setHydrated(true), []);

  React.useEffect(() => {
    // biome-ignore lint/suspicious/noDocumentCookie: a plain preference cookie read by "/" on the server
    document.cookie = `${LAST_WORKSPACE_COOKIE}=${encodeURIComponent(workspace.slug)}; path=/; max-age=31536000; samesite=lax`;
  }, [workspace.slug]);

  return (
    <WorkspaceProvider value={value}>
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-primary px-3 py-2 text-sm text-primary-foreground focus:not-sr-only focus:fixed focus:top-3 focus:left-3"
      >
        {t('nav.skipToContent')}
      </a>
      <div className="min-h-dvh lg:grid lg:grid-cols-[16rem_1fr]" data-hydrated={hydrated || undefined}>
        <aside className="sticky top-0 hidden h-dvh border-r border-sidebar-border bg-sidebar lg:block">
          <SidebarBody slug={workspace.slug} />
        </aside>
        <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b bg-background/85 px-4 backdrop-blur lg:hidden">
          <DialogPrimitive.Root open={drawerOpen} onOpenChange={setDrawerOpen}>
            <DialogPrimitive.Trigger asChild>
              <Button variant="ghost" size="icon-sm" aria-label={t('nav.openMenu')}>
                <MenuIcon aria-hidden />
              </Button>
            </DialogPrimitive.Trigger>
            <DialogPrimitive.Portal>
              <DialogPrimitive.Overlay className="fixed inset-0 z-40 bg-black/40" />
              <DialogPrimitive.Content className="fixed inset-y-0 left-0 z-50 w-72 border-r bg-sidebar shadow-xl outline-none">
                <DialogPrimitive.Title className="sr-only">{t('nav.main')}</DialogPrimitive.Title>
                <SidebarBody slug={workspace.slug} onNavigate={() => setDrawerOpen(false)} />
              </DialogPrimitive.Content>
            </DialogPrimitive.Portal>
          </DialogPrimitive.Root>
          <Logo />
        </header>
        <main id="main" tabIndex={-1} className="min-w-0 outline-none">
          <div className="mx-auto w-full max-w-6xl px-4 py-8 sm:px-8 lg:py-10">{children}</div>
        </main>
      </div>
    </WorkspaceProvider>
  );
}
