import type { Metadata } from 'next';
import { ModelPage } from '@/components/models/model-page';
import { getT } from '@/lib/i18n/server';
import { requireFound } from '@/lib/require-found';
import { getFineTunedModel } from '@/lib/server/routes/models';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('models.detail.title') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; modelId: string }> }) {
  const { slug, modelId } = await params;
  await requireFound(getFineTunedModel, { slug, modelId });
  return <ModelPage slug={slug} kind="fine_tuned" id={modelId} />;
}
