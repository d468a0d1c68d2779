import type { Metadata } from 'next';
import Link from 'next/link';
import { ModelDetail } from '@/components/models/model-detail';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('models.detail.title') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; modelId: string }> }) {
  const t = await getT();
  const { slug, modelId } = await params;
  return (
    <>
      <Link
        href={`/w/${slug}/models`}
        className="mb-4 inline-block text-sm text-muted-foreground underline-offset-4 hover:underline"
      >
        {t('models.detail.back')}
      </Link>
      <ModelDetail kind="fine_tuned" id={modelId} />
    </>
  );
}
