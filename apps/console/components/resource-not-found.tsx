'use client';

import { FileQuestionIcon } from 'lucide-react';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useT } from '@/lib/i18n/client';

const KINDS = {
  dataset: 'datasets',
  job: 'fine-tuning',
  model: 'models',
  baseModel: 'models',
  deployment: 'deployments',
  evaluation: 'evaluations',
} as const;

/** The not-found page of a workspace resource: what is missing, in words, and the way back to its list. */
export function ResourceNotFound({ kind }: { kind: keyof typeof KINDS }) {
  const t = useT();
  const { slug } = useParams<{ slug: string }>();
  return (
    <EmptyState
      icon={FileQuestionIcon}
      title={t(`notFoundPages.${kind}`)}
      description={t('notFoundPages.description')}
      action={
        <Button asChild variant="outline">
          <Link href={`/w/${slug}/${KINDS[kind]}`}>{t(`notFoundPages.back.${kind}`)}</Link>
        </Button>
      }
    />
  );
}
