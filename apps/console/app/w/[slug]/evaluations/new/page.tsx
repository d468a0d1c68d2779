import type { Metadata } from 'next';
import { EvaluationForm } from '@/components/evaluations/evaluation-form';
import { RoleGate } from '@/components/role-gate';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('evaluations.create') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('evaluations.create')} description={t('evaluations.description')} />
      <RoleGate action="evaluate" page>
        <EvaluationForm />
      </RoleGate>
    </>
  );
}
