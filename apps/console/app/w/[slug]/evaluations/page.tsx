import type { Metadata } from 'next';
import { EvaluationsList } from '@/components/evaluations/evaluations-list';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('evaluations.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('evaluations.title')} description={t('evaluations.description')} />
      <EvaluationsList />
    </>
  );
}
