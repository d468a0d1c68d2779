import type { Metadata } from 'next';
import { Suspense } from 'react';
import { DatasetDetail } from '@/components/datasets/detail';
import { getT } from '@/lib/i18n/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('datasets.title') };
}

export default async function Page({ params }: { params: Promise<{ datasetId: string }> }) {
  const { datasetId } = await params;
  return (
    <Suspense>
      <DatasetDetail datasetId={datasetId} />
    </Suspense>
  );
}
