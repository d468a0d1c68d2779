'use client';

import { AlertTriangleIcon } from 'lucide-react';
import { useEffect } from 'react';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useT } from '@/lib/i18n/client';

/** The body of every error.tsx: says what happened in the user's language and offers a retry. */
export function ErrorView({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const t = useT();
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <EmptyState
      icon={AlertTriangleIcon}
      title={t('errors.title')}
      description={
        error.digest
          ? `${t('errors.description')} ${t('errors.reference', { digest: error.digest })}`
          : t('errors.description')
      }
      action={<Button onClick={reset}>{t('common.retry')}</Button>}
    />
  );
}
