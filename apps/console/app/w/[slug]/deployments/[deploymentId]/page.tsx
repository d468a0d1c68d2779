import type { Metadata } from 'next';
import Link from 'next/link';
import { openAiBaseUrl } from '@/components/deployments/api-base';
import { DeploymentDetail } from '@/components/deployments/deployment-detail';
import { getT } from '@/lib/i18n/server';
import { requireFound } from '@/lib/require-found';
import { getDeployment } from '@/lib/server/routes/deployments';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('deployments.detail.title') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; deploymentId: string }> }) {
  const t = await getT();
  const { slug, deploymentId } = await params;
  await requireFound(getDeployment, { slug, deploymentId });
  return (
    <>
      <Link
        href={`/w/${slug}/deployments`}
        className="mb-4 inline-block text-sm text-muted-foreground underline-offset-4 hover:underline"
      >
        {t('deployments.detail.back')}
      </Link>
      <DeploymentDetail id={deploymentId} apiBase={openAiBaseUrl()} />
    </>
  );
}
