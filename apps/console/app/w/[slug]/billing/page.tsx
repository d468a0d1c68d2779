import type { Metadata } from 'next';
import { BillingDashboard } from '@/components/billing/dashboard';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('billing.title') };
}

export default async function Page() {
  const t = await getT();
  return (
    <>
      <PageHeader title={t('billing.title')} description={t('billing.description')} />
      <BillingDashboard />
    </>
  );
}
