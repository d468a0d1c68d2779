import type { Metadata } from 'next';
import { CreateJobForm } from '@/components/fine-tuning/job-form';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('fineTuning.create') };
}

export default async function Page({ searchParams }: { searchParams: Promise<{ from?: string | string[] }> }) {
  const t = await getT();
  const { from } = await searchParams;
  const fromJobId = typeof from === 'string' && from ? from : null;
  return (
    <>
      <PageHeader
        title={fromJobId ? t('fineTuning.form.cloneTitle') : t('fineTuning.create')}
        description={t('fineTuning.form.description')}
      />
      <CreateJobForm fromJobId={fromJobId} />
    </>
  );
}
