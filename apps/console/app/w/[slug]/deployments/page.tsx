import type { Metadata } from 'next';
import { DeploymentsList } from '@/components/deployments/deployments-list';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('deployments.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('deployments.title')} description={t('deployments.description')} />
      <DeploymentsList />
    </>
  );
}
