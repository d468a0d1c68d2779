import type { Metadata } from 'next';
import { WorkspaceBillingAsAdmin } from '@/components/admin/workspace-billing';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';
import { getMe } from '@/lib/me';

export async function generateMetadata({ params }: { params: Promise<{ slug: string }> }): Promise<Metadata> {
  return { title: (await getT())('adminBilling.viewTitle', { slug: (await params).slug }) };
}

/** A workspace's billing dashboard, read-only, for an instance admin who need not be a member (the layout checks). */
export default async function Page({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const t = await getT();
  const me = await getMe();
  if (!me) return null; // the layout has redirected
  return (
    <>
      <PageHeader title={t('adminBilling.viewTitle', { slug })} description={t('adminBilling.viewNotice')} />
      <WorkspaceBillingAsAdmin me={me} slug={slug} />
    </>
  );
}
