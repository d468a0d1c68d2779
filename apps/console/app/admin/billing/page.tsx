import type { Metadata } from 'next';
import { InstanceBilling } from '@/components/admin/instance-billing';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('adminBilling.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('adminBilling.title')} description={t('adminBilling.description')} />
      <InstanceBilling />
    </>
  );
}
