'use client';

import { XIcon } from 'lucide-react';
import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import { formatMs } from '../deployments/api';
import type { TRating } from '../logs/api';
import { Thumbs } from '../logs/thumbs';
import type { TChatMessage, TUsage } from './stream';

export type TChatModel = {
  id: string;
  name: string;
  kind: 'base' | 'fine_tuned';
  deployed: boolean;
  /** A fine-tune's base model id (as the chat API names it), when it can be called here. */
  base?: string | null;
};

export type TTurn =
  | { role: 'user'; content: string }
  | {
      role: 'assistant';
      content: string;
      streaming: boolean;
      error?: string;
      usage?: TUsage | null;
      firstTokenMs?: number | null;
      totalMs?: number;
      /** Its request (the completion id) and the messages sent: thumbs rate it and keep the turn (issue 16). */
      requestId?: string | null;
      sent?: TChatMessage[];
      rating?: TRating | null;
    };

/** One column of the playground: its model, its own conversation, and per-answer tokens and latency. */
export function ChatPane({
  label,
  models,
  model,
  onModelChange,
  turns,
  onRemove,
  onRate,
}: {
  label: string;
  models: TChatModel[];
  model: string;
  onModelChange: (model: string) => void;
  turns: TTurn[];
  onRemove?: () => void;
  /** Thumbs on the answer at `index` of `turns` (absent: no thumbs, e.g. for a viewer). */
  onRate?: (index: number, rating: TRating | null) => void;
}) {
  const t = useT();
  const end = React.useRef<HTMLDivElement>(null);
  const last = turns.at(-1);
  // Follow the answer as it streams in.
  const followKey = `${turns.length}:${last?.content.length ?? 0}`;
  React.useEffect(() => {
    // followKey is read so each new turn or streamed delta re-runs this effect.
    void followKey;
    end.current?.scrollIntoView?.({ block: 'nearest' });
  }, [followKey]);
  return (
    <section
      aria-label={label}
      data-testid="chat-pane"
      className="flex min-h-[420px] min-w-0 flex-col rounded-xl border bg-card shadow-xs"
    >
      <div className="flex items-center gap-2 border-b p-3">
        <Select value={model} onValueChange={onModelChange}>
          {/* Long model names overflowed the pane (two side by side): the picked one is cut with an ellipsis, the list
              stays inside the viewport and wraps. */}
          <SelectTrigger
            aria-label={t('playground.model')}
            title={models.find((m) => m.id === model)?.name}
            className="min-w-0 flex-1 overflow-hidden [&>span]:min-w-0 [&>span]:truncate"
          >
            <SelectValue placeholder={t('playground.modelPlaceholder')} />
          </SelectTrigger>
          <SelectContent className="max-w-[calc(100vw-2rem)]">
            {models.map((m) => (
              <SelectItem key={m.id} value={m.id} className="whitespace-normal break-all">
                {m.name}
                <span className="ml-2 text-xs text-muted-foreground">
                  {t(`deployments.kind.${m.kind}`)}
                  {' · '}
                  {m.deployed ? t('playground.deployed') : t('playground.onDemand')}
                </span>
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
        {onRemove ? (
          <Button variant="ghost" size="icon-sm" onClick={onRemove} aria-label={t('playground.removePane')}>
            <XIcon aria-hidden />
          </Button>
        ) : null}
      </div>
      <div className="flex-1 space-y-4 overflow-y-auto p-4" aria-live="polite">
        {turns.length === 0 ? (
          <p className="py-12 text-center text-sm text-muted-foreground">{t('playground.emptyConversation')}</p>
        ) : (
          turns.map((turn, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: turns are append-only; the index is their identity
            <React.Fragment key={i}>
              {turn.role === 'user' ? (
                <UserTurn content={turn.content} />
              ) : (
                <AssistantTurn turn={turn} onRate={onRate ? (rating) => onRate(i, rating) : undefined} />
              )}
            </React.Fragment>
          ))
        )}
        <div ref={end} />
      </div>
    </section>
  );
}

function UserTurn({ content }: { content: string }) {
  return (
    <div className="flex justify-end">
      <div
        data-testid="user-message"
        className="max-w-[85%] rounded-xl bg-primary px-3 py-2 text-sm whitespace-pre-wrap [overflow-wrap:anywhere] text-primary-foreground"
      >
        {content}
      </div>
    </div>
  );
}

function AssistantTurn({
  turn,
  onRate,
}: {
  turn: Extract<TTurn, { role: 'assistant' }>;
  onRate?: (rating: TRating | null) => void;
}) {
  const t = useT();
  const locale = useLocale();
  return (
    <div className="grid gap-1">
      <div
        data-testid="assistant-message"
        data-streaming={turn.streaming ? 'true' : 'false'}
        className="max-w-[95%] rounded-xl bg-muted px-3 py-2 text-sm whitespace-pre-wrap [overflow-wrap:anywhere]"
      >
        {turn.content}
        {turn.streaming ? (
          <span className="ml-0.5 inline-block h-4 w-1.5 animate-pulse bg-foreground/60 align-middle" />
        ) : null}
        {!turn.streaming && !turn.content && !turn.error ? (
          <span className="text-muted-foreground italic">{t('playground.emptyAnswer')}</span>
        ) : null}
      </div>
      {turn.error ? (
        <p role="alert" className="text-xs font-medium text-destructive">
          {turn.error}
        </p>
      ) : null}
      {!turn.streaming && turn.totalMs !== undefined ? (
        <div className="flex flex-wrap gap-1.5" data-testid="answer-stats">
          <Badge variant="secondary">
            {t('playground.stats.tokens', {
              prompt: turn.usage ? formatNumber(turn.usage.promptTokens, locale) : '—',
              completion: turn.usage ? formatNumber(turn.usage.completionTokens, locale) : '—',
            })}
          </Badge>
          <Badge variant="secondary">
            {t('playground.stats.firstToken', { ms: formatMs(turn.firstTokenMs, locale) })}
          </Badge>
          <Badge variant="secondary">{t('playground.stats.total', { ms: formatMs(turn.totalMs, locale) })}</Badge>
          {turn.usage && turn.usage.completionTokens > 0 && turn.totalMs > 0 ? (
            <Badge variant="outline">
              {t('playground.stats.speed', {
                rate: new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(
                  turn.usage.completionTokens / (turn.totalMs / 1000),
                ),
              })}
            </Badge>
          ) : null}
          {onRate && turn.requestId ? <Thumbs rating={turn.rating ?? null} onRate={onRate} /> : null}
        </div>
      ) : null}
    </div>
  );
}
