'use client';

import { GlobeIcon } from 'lucide-react';
import { Button } from '@/components/ui/button';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu';
import { useLocale, useT } from '@/lib/i18n/client';
import { isLocale, LOCALES } from '@/lib/i18n/config';
import { useSetLocale } from '@/lib/use-set-locale';

/** Language picker for pages outside the workspace shell (inside it, the user menu has one). */
export function LocaleSwitcher({ signedIn = false }: { signedIn?: boolean }) {
  const t = useT();
  const locale = useLocale();
  const { setLocale, pending } = useSetLocale({ signedIn });
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="ghost" size="sm" loading={pending} aria-label={t('userMenu.language')}>
          {pending ? null : <GlobeIcon aria-hidden />}
          {t(`locales.${locale}`)}
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuRadioGroup value={locale} onValueChange={(value) => isLocale(value) && setLocale(value)}>
          {LOCALES.map((l) => (
            <DropdownMenuRadioItem key={l} value={l} lang={l}>
              {t(`locales.${l}`)}
            </DropdownMenuRadioItem>
          ))}
        </DropdownMenuRadioGroup>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
