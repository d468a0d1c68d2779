import type { Metadata } from 'next';
import { ModelsView } from '@/components/models/models-view';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('models.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('models.title')} description={t('models.description')} />
      <ModelsView />
    </>
  );
}
