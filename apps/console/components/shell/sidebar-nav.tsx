'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useT } from '@/lib/i18n/client';
import { cn } from '@/lib/utils';
import { NAV } from './nav-items';

export function SidebarNav({ slug, onNavigate }: { slug: string; onNavigate?: () => void }) {
  const t = useT();
  const pathname = usePathname();
  return (
    <nav aria-label={t('nav.main')} className="flex flex-col gap-6">
      {NAV.map((group) => (
        <div key={group.label}>
          <p className="px-3 pb-1.5 text-[11px] font-semibold tracking-wider text-muted-foreground/80 uppercase">
            {t(group.label)}
          </p>
          <ul className="flex flex-col gap-0.5">
            {group.items.map((item) => {
              const href = `/w/${slug}/${item.segment}`;
              const active = pathname === href || pathname.startsWith(`${href}/`);
              const Icon = item.icon;
              return (
                <li key={item.segment}>
                  <Link
                    href={href}
                    onClick={onNavigate}
                    aria-current={active ? 'page' : undefined}
                    className={cn(
                      'flex h-9 items-center gap-3 rounded-md px-3 text-sm font-medium text-sidebar-foreground transition-colors outline-none',
                      'hover:bg-sidebar-accent/70 hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/40',
                      active && 'bg-sidebar-accent text-foreground shadow-xs',
                    )}
                  >
                    <Icon
                      className={cn('size-4 shrink-0', active ? 'text-primary' : 'text-muted-foreground')}
                      aria-hidden
                    />
                    {t(item.label)}
                  </Link>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );
}
