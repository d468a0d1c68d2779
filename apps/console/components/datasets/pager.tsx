'use client';

import { Button } from '@/components/ui/button';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';

/** "Showing a–b of n" with Previous / Next, for the dataset pages' paged lists (rows, rows with errors, the diff). */
export function Pager({
  offset,
  pageSize,
  total,
  onOffset,
  testId,
}: {
  offset: number;
  pageSize: number;
  total: number;
  onOffset: (offset: number) => void;
  testId?: string;
}) {
  const t = useT();
  const locale = useLocale();
  return (
    <div className="flex items-center justify-between text-xs text-muted-foreground">
      <span data-testid={testId}>
        {t('datasets.showing', {
          from: formatNumber(total === 0 ? 0 : offset + 1, locale),
          to: formatNumber(Math.min(offset + pageSize, total), locale),
          total: formatNumber(total, locale),
        })}
      </span>
      <div className="flex gap-2">
        <Button
          size="sm"
          variant="outline"
          disabled={offset === 0}
          onClick={() => onOffset(Math.max(0, offset - pageSize))}
        >
          {t('datasets.previous')}
        </Button>
        <Button
          size="sm"
          variant="outline"
          disabled={offset + pageSize >= total}
          onClick={() => onOffset(offset + pageSize)}
        >
          {t('datasets.next')}
        </Button>
      </div>
    </div>
  );
}
