'use client';

import { ThumbsDownIcon, ThumbsUpIcon } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { useT } from '@/lib/i18n/client';
import { cn } from '@/lib/utils';
import type { TRating } from './api';

/** Thumbs up / down on an answer (a log, a playground turn); pressing the chosen one again clears it. */
export function Thumbs({
  rating,
  onRate,
  disabled,
}: {
  rating: TRating | null;
  onRate: (rating: TRating | null) => void;
  disabled?: boolean;
}) {
  const t = useT();
  const thumb = (value: TRating) => {
    const Icon = value === 'up' ? ThumbsUpIcon : ThumbsDownIcon;
    const on = rating === value;
    return (
      <Button
        type="button"
        variant="ghost"
        size="icon-sm"
        aria-label={t(value === 'up' ? 'logs.rateUp' : 'logs.rateDown')}
        aria-pressed={on}
        disabled={disabled}
        onClick={(event) => {
          event.stopPropagation();
          onRate(on ? null : value);
        }}
      >
        <Icon
          aria-hidden
          className={cn(on ? (value === 'up' ? 'fill-current text-primary' : 'fill-current text-destructive') : '')}
        />
      </Button>
    );
  };
  return (
    <fieldset aria-label={t('logs.rating')} className="m-0 flex items-center border-0 p-0">
      {thumb('up')}
      {thumb('down')}
    </fieldset>
  );
}
