import type { Metadata } from 'next';
import Link from 'next/link';
import { JobDetail } from '@/components/fine-tuning/job-detail';
import { PageHeader } from '@/components/ui/page-header';
import { getT } from '@/lib/i18n/server';
import { requireFound } from '@/lib/require-found';
import { getJobRoute } from '@/lib/server/routes/fine-tuning';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('fineTuning.detail.title') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; jobId: string }> }) {
  const t = await getT();
  const { slug, jobId } = await params;
  await requireFound(getJobRoute, { slug, jobId });
  return (
    <>
      <Link
        href={`/w/${slug}/fine-tuning`}
        className="mb-2 inline-block text-sm text-muted-foreground underline-offset-4 hover:underline"
      >
        {t('fineTuning.detail.backToJobs')}
      </Link>
      <PageHeader title={t('fineTuning.detail.title')} />
      <JobDetail jobId={jobId} />
    </>
  );
}
