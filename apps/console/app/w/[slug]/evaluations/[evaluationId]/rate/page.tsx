import type { Metadata } from 'next';
import Link from 'next/link';
import { BlindRating } from '@/components/evaluations/blind-rating';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';
import { requireFound } from '@/lib/require-found';
import { getEvaluation } from '@/lib/server/routes/evaluations';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('evaluations.rating.title') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; evaluationId: string }> }) {
  const t = await getT();
  const { slug, evaluationId } = await params;
  await requireFound(getEvaluation, { slug, evaluationId });
  return (
    <>
      <Link
        href={`/w/${slug}/evaluations/${evaluationId}`}
        className="mb-4 inline-block text-sm text-muted-foreground underline-offset-4 hover:underline"
      >
        {t('evaluations.rating.back')}
      </Link>
      <PageHeader title={t('evaluations.rating.title')} description={t('evaluations.rating.description')} />
      <BlindRating id={evaluationId} />
    </>
  );
}
