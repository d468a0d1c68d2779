import Link from 'next/link';
import { getT } from '@/lib/i18n/server';
import { ModelDetail } from './model-detail';

/** The body of both model pages (`/w/[slug]/models/[id]`, `/w/[slug]/models/base/[id]`): a way back, the model. */
export async function ModelPage({ slug, kind, id }: { slug: string; kind: 'fine_tuned' | 'base'; id: string }) {
  const t = await getT();
  return (
    <>
      <Link
        href={`/w/${slug}/models`}
        className="mb-4 inline-block text-sm text-muted-foreground underline-offset-4 hover:underline"
      >
        {t('models.detail.back')}
      </Link>
      <ModelDetail kind={kind} id={id} />
    </>
  );
}
