import type { Metadata } from 'next';
import { LogsPage } from '@/components/logs/logs-page';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('logs.title') };
}

export default async function Page({ searchParams }: { searchParams: Promise<{ deployment?: string | string[] }> }) {
  const t = await getT();
  const { deployment } = await searchParams;
  return (
    <>
      <PageHeader title={t('logs.title')} description={t('logs.description')} />
      <LogsPage initialDeploymentId={typeof deployment === 'string' ? deployment : undefined} />
    </>
  );
}
