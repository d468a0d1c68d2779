import type { Metadata } from 'next';
import { UploadForm } from '@/components/datasets/upload';
import { RoleGate } from '@/components/role-gate';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('datasets.uploadTitle') };
}

export default async function Page({ searchParams }: { searchParams: Promise<{ dataset?: string }> }) {
  const t = await getT();
  const { dataset } = await searchParams;
  return (
    <>
      <PageHeader title={t('datasets.uploadTitle')} description={t('datasets.uploadDescription')} />
      <RoleGate action="upload" page>
        <UploadForm datasetId={typeof dataset === 'string' && dataset ? dataset : undefined} />
      </RoleGate>
    </>
  );
}
