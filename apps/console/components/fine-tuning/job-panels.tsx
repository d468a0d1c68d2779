'use client';

import { AlertOctagonIcon } from 'lucide-react';
import * as React from 'react';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useLocale, useT } from '@/lib/i18n/client';
import { eventLevelText, jobErrorText, jobEventText } from '@/lib/i18n/domain';
import { cn, formatDate } from '@/lib/utils';
import { formatHyperparameter, formatMetric } from './format';
import type { TCheckpoint, TJob, TJobEvent } from './types';

/** What went wrong, in the words the worker chose: code, sentence, and the setting or row it is about. */
export function ErrorPanel({ error }: { error: NonNullable<TJob['error']> }) {
  const t = useT();
  const locale = useLocale();
  return (
    <div role="alert" className="flex gap-3 rounded-xl border border-destructive/30 bg-destructive/5 p-4 text-sm">
      <AlertOctagonIcon className="mt-0.5 size-5 shrink-0 text-destructive" aria-hidden />
      <div className="grid gap-1">
        <p className="font-semibold text-destructive">{t('fineTuning.detail.errorTitle')}</p>
        <p>{locale === 'en' ? error.message : jobErrorText(t, error.code, error.message)}</p>
        <p className="text-xs text-muted-foreground">
          {t('fineTuning.detail.errorCode')} <code className="font-mono">{error.code}</code>
          {error.param ? (
            <>
              {' · '}
              {t('fineTuning.detail.errorParam')} <code className="font-mono">{error.param}</code>
            </>
          ) : null}
        </p>
      </div>
    </div>
  );
}

const LEVEL_VARIANT: Record<string, 'secondary' | 'warning' | 'destructive'> = {
  info: 'secondary',
  warn: 'warning',
  error: 'destructive',
};

/** The job's log, newest at the bottom, following along while the user has not scrolled up. */
export function EventsLog({ events }: { events: TJobEvent[] }) {
  const t = useT();
  const locale = useLocale();
  const ref = React.useRef<HTMLOListElement>(null);
  const pinned = React.useRef(true);
  // Where we last scrolled to ourselves: the scroll event of that programmatic scroll arrives later, often after more
  // lines came in, and must not read as the user scrolling up.
  const autoTop = React.useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever a line arrives
  React.useEffect(() => {
    const list = ref.current;
    if (list && pinned.current) {
      list.scrollTop = list.scrollHeight;
      autoTop.current = list.scrollTop;
    }
  }, [events.length]);
  const time = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });
  return (
    <Card>
      <CardHeader className="pb-2">
        <CardTitle className="text-sm">{t('fineTuning.detail.events')}</CardTitle>
      </CardHeader>
      <CardContent>
        {events.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t('fineTuning.detail.noEvents')}</p>
        ) : (
          <ol
            ref={ref}
            aria-label={t('fineTuning.detail.events')}
            onScroll={(e) => {
              const el = e.currentTarget;
              pinned.current =
                el.scrollTop >= autoTop.current - 4 || el.scrollHeight - el.scrollTop - el.clientHeight < 24;
            }}
            className="max-h-72 overflow-y-auto rounded-lg bg-muted/40 p-3 font-mono text-xs leading-relaxed"
          >
            {events.map((e) => (
              <li key={e.id} className="flex gap-2">
                <span className="shrink-0 text-muted-foreground tabular-nums">
                  {time.format(new Date(e.createdAt))}
                </span>
                {e.level !== 'info' ? (
                  <Badge variant={LEVEL_VARIANT[e.level] ?? 'secondary'} className="h-4 px-1.5">
                    {eventLevelText(t, e.level)}
                  </Badge>
                ) : null}
                <span className={cn('break-words', e.level === 'error' && 'text-destructive')}>
                  {jobEventText(t, e)}
                </span>
              </li>
            ))}
          </ol>
        )}
      </CardContent>
    </Card>
  );
}

export function CheckpointsTable({ checkpoints }: { checkpoints: TCheckpoint[] }) {
  const t = useT();
  const locale = useLocale();
  return (
    <Card>
      <CardHeader className="pb-2">
        <CardTitle className="text-sm">{t('fineTuning.detail.checkpoints')}</CardTitle>
        <CardDescription>{t('fineTuning.detail.checkpointsHelp')}</CardDescription>
      </CardHeader>
      <CardContent>
        {checkpoints.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t('fineTuning.detail.noCheckpoints')}</p>
        ) : (
          <div className="max-h-96 overflow-y-auto">
            <Table aria-label={t('fineTuning.detail.checkpoints')}>
              <TableHeader>
                <TableRow className="hover:bg-transparent">
                  <TableHead>{t('fineTuning.detail.step')}</TableHead>
                  <TableHead>{t('fineTuning.detail.loss')}</TableHead>
                  <TableHead>{t('fineTuning.detail.evalLoss')}</TableHead>
                  <TableHead>{t('fineTuning.colCreated')}</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {[...checkpoints]
                  .sort((a, b) => a.step - b.step)
                  .map((c) => {
                    const m = (c.metrics ?? {}) as Record<string, unknown>;
                    const num = (v: unknown) => (typeof v === 'number' ? formatMetric(v) : '—');
                    return (
                      <TableRow key={c.id}>
                        <TableCell className="tabular-nums">{c.step}</TableCell>
                        <TableCell className="tabular-nums">{num(m.loss ?? m.trainLoss)}</TableCell>
                        <TableCell className="tabular-nums">{num(m.evalLoss)}</TableCell>
                        <TableCell>{formatDate(c.createdAt, locale)}</TableCell>
                      </TableRow>
                    );
                  })}
              </TableBody>
            </Table>
          </div>
        )}
      </CardContent>
    </Card>
  );
}

/**
 * A definition list of settings (hyper-parameters, lineage). `labelOf` names a key for people (hyper-parameters:
 * "Batch size", with the API key as the tooltip); without it the keys are shown as given.
 */
export function SettingsList({
  title,
  values,
  labelOf,
  formatValue = formatHyperparameter,
}: {
  title: string;
  values: Record<string, unknown>;
  labelOf?: (key: string) => string;
  formatValue?: (value: unknown, key: string) => string;
}) {
  const entries = Object.entries(values);
  return (
    <Card>
      <CardHeader className="pb-2">
        <CardTitle className="text-sm">{title}</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
          {entries.map(([key, value]) => (
            <React.Fragment key={key}>
              <dt
                className={cn('text-xs leading-5 text-muted-foreground', !labelOf && 'font-mono')}
                title={labelOf ? key : undefined}
              >
                {labelOf ? labelOf(key) : key}
              </dt>
              <dd className="font-medium break-all tabular-nums">{formatValue(value, key)}</dd>
            </React.Fragment>
          ))}
        </dl>
      </CardContent>
    </Card>
  );
}
