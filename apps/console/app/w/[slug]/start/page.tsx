import type { Metadata } from 'next';
import { PageHeader } from '@/components/ui/page-header';
import { GettingStarted } from '@/components/workspace/getting-started';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('nav.start') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('nav.start')} description={t('start.description')} />
      <GettingStarted />
    </>
  );
}
