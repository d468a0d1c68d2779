import type { Metadata } from 'next';
import { CreateJobForm } from '@/components/fine-tuning/job-form';
import { RoleGate } from '@/components/role-gate';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('fineTuning.create') };
}

type TQuery = { from?: string | string[]; base?: string | string[]; version?: string | string[] };

export default async function Page({ searchParams }: { searchParams: Promise<TQuery> }) {
  const t = await getT();
  const q = await searchParams;
  const one = (v: string | string[] | undefined) => (typeof v === 'string' && v ? v : null);
  const fromJobId = one(q.from);
  return (
    <>
      <PageHeader
        title={fromJobId ? t('fineTuning.form.cloneTitle') : t('fineTuning.create')}
        description={t('fineTuning.form.description')}
      />
      <RoleGate action="train" page>
        <CreateJobForm
          fromJobId={fromJobId}
          preselect={{ baseModelId: one(q.base), trainingVersionId: one(q.version) }}
        />
      </RoleGate>
    </>
  );
}
