import type { Metadata } from 'next';
import { DatasetsTable, UploadLink } from '@/components/datasets/list';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('datasets.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('datasets.title')} description={t('datasets.description')} actions={<UploadLink />} />
      <DatasetsTable />
    </>
  );
}
