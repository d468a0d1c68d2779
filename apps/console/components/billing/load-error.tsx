'use client';

import { Button } from '@/components/ui/button';
import { useT } from '@/lib/i18n/client';

/** A billing page whose numbers did not load: the reason and Retry. */
export function LoadError({ message, onRetry }: { message: string; onRetry: () => void }) {
  const t = useT();
  return (
    <div className="grid gap-3" role="alert">
      <p className="text-destructive">{t('billing.loadError', { message })}</p>
      <Button variant="outline" className="justify-self-start" onClick={onRetry}>
        {t('billing.retry')}
      </Button>
    </div>
  );
}
