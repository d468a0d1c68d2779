import type { Metadata } from 'next';
import { openAiBaseUrl } from '@/components/deployments/api-base';
import { Playground } from '@/components/playground/playground';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('playground.title') };
}

export default async function Page({ searchParams }: { searchParams: Promise<{ model?: string | string[] }> }) {
  const t = await getT();
  const { model } = await searchParams;
  return (
    <>
      <PageHeader title={t('playground.title')} description={t('playground.description')} />
      <Playground apiBase={openAiBaseUrl()} initialModel={typeof model === 'string' ? model : undefined} />
    </>
  );
}
