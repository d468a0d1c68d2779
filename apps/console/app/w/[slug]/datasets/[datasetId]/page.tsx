import type { Metadata } from 'next';
import { Suspense } from 'react';
import { DatasetDetail } from '@/components/datasets/detail';
import { getT } from '@/lib/i18n/server';
import { requireFound } from '@/lib/require-found';
import { getDataset } from '@/lib/server/routes/datasets';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('datasets.title') };
}

export default async function Page({ params }: { params: Promise<{ slug: string; datasetId: string }> }) {
  const { slug, datasetId } = await params;
  await requireFound(getDataset, { slug, datasetId });
  return (
    <Suspense>
      <DatasetDetail datasetId={datasetId} />
    </Suspense>
  );
}
