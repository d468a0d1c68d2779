import type { Metadata } from 'next';
import { JobsList, NewJobButton } from '@/components/fine-tuning/jobs-list';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('fineTuning.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('fineTuning.title')} description={t('fineTuning.description')} actions={<NewJobButton />} />
      <JobsList />
    </>
  );
}
