import type { Metadata } from 'next';
import { PlaygroundView } from '@/components/pages/playground-view';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('playground.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('playground.title')} description={t('playground.description')} />
      <PlaygroundView />
    </>
  );
}
