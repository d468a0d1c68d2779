import type { Metadata } from 'next';
import { SettingsTabs } from '@/components/settings/settings-tabs';
import { SETTINGS_TABS, type TSettingsTab } from '@/components/settings/tabs';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('settings.title') };
}

export default async function SettingsPage({ searchParams }: { searchParams: Promise<{ tab?: string }> }) {
  const { tab } = await searchParams;
  const t = await getT();
  const initial = (SETTINGS_TABS as readonly string[]).includes(tab ?? '') ? (tab as TSettingsTab) : 'general';
  return (
    <>
      <PageHeader title={t('settings.title')} description={t('settings.description')} />
      <SettingsTabs initial={initial} />
    </>
  );
}
