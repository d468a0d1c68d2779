'use client';

import { AlertTriangleIcon } from 'lucide-react';
import Link from 'next/link';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { Skeleton } from '@/components/ui/skeleton';
import { useT } from '@/lib/i18n/client';
import type { TPollState } from './use-poll';

/**
 * What a polled detail page shows before it has its data: skeletons while loading; on an error, "not found" with a
 * way back (404), or the error with Retry. Render it whenever `state.status !== 'ready'`.
 */
export function PollFallback<T>({
  state,
  notFound,
  backHref,
  onRetry,
}: {
  state: Exclude<TPollState<T>, { status: 'ready' }>;
  notFound: string;
  backHref: string;
  onRetry: () => void;
}) {
  const t = useT();
  if (state.status === 'loading') {
    return (
      <div role="status" aria-label={t('common.loading')} className="grid gap-4">
        <Skeleton className="h-16" />
        <Skeleton className="h-28" />
        <Skeleton className="h-64" />
      </div>
    );
  }
  const missing = state.error.status === 404;
  return (
    <EmptyState
      icon={AlertTriangleIcon}
      title={missing ? notFound : t('errors.title')}
      description={state.error.code === 'network' ? t('errors.network') : state.error.message}
      action={
        missing ? (
          <Button asChild variant="outline">
            <Link href={backHref}>{t('common.back')}</Link>
          </Button>
        ) : (
          <Button variant="outline" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        )
      }
    />
  );
}
