import type { Metadata } from 'next';
import { ModelPage } from '@/components/models/model-page';
import { getT } from '@/lib/i18n/server';
import { requireFound } from '@/lib/require-found';
import { getBaseModel } from '@/lib/server/routes/models';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('models.detail.baseTitle') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; baseModelId: string }> }) {
  const { slug, baseModelId } = await params;
  await requireFound(getBaseModel, { slug, baseModelId });
  return <ModelPage slug={slug} kind="base" id={baseModelId} />;
}
