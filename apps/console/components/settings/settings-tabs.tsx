'use client';

import { KeyRoundIcon, SlidersHorizontalIcon, UsersIcon } from 'lucide-react';
import { usePathname, useRouter } from 'next/navigation';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { useT } from '@/lib/i18n/client';
import { ApiKeysSettings } from './api-keys-settings';
import { GeneralSettings } from './general-settings';
import { MembersSettings } from './members-settings';
import type { TSettingsTab } from './tabs';

/** Tabs keep their place in the URL (?tab=members) so a link or a reload lands on the same tab. */
export function SettingsTabs({ initial }: { initial: TSettingsTab }) {
  const t = useT();
  const router = useRouter();
  const pathname = usePathname();
  return (
    <Tabs
      defaultValue={initial}
      onValueChange={(tab) =>
        router.replace(tab === 'general' ? pathname : `${pathname}?tab=${tab}`, { scroll: false })
      }
    >
      <TabsList>
        <TabsTrigger value="general">
          <SlidersHorizontalIcon aria-hidden />
          {t('settings.tabGeneral')}
        </TabsTrigger>
        <TabsTrigger value="members">
          <UsersIcon aria-hidden />
          {t('settings.tabMembers')}
        </TabsTrigger>
        <TabsTrigger value="api-keys">
          <KeyRoundIcon aria-hidden />
          {t('settings.tabApiKeys')}
        </TabsTrigger>
      </TabsList>
      <TabsContent value="general">
        <GeneralSettings />
      </TabsContent>
      <TabsContent value="members">
        <MembersSettings />
      </TabsContent>
      <TabsContent value="api-keys">
        <ApiKeysSettings />
      </TabsContent>
    </Tabs>
  );
}
