'use client';

import { CheckCircle2Icon, ScaleIcon } from 'lucide-react';
import * as React from 'react';
import { usePoll } from '@/components/deployments/use-poll';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useWorkspace } from '@/components/workspace-context';
import { ApiError, api, type TList } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatNumber } from '@/lib/utils';
import { evaluationModelLabel, evaluationPaths, type TPair, type TWinRate } from './api';

const pct = (v: number, locale: string) =>
  new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(v);

/**
 * `/w/[slug]/evaluations/[id]/rate`: blind A/B. The server picks the pair and the sides and never says which model
 * wrote which answer; the member picks A, B or a tie, and sees every member's win rates per model pair below.
 */
export function BlindRating({ id }: { id: string }) {
  const t = useT();
  const { workspace } = useWorkspace();
  const [pair, setPair] = React.useState<TPair | null | undefined>(undefined);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [version, setVersion] = React.useState(0);
  const [rated, setRated] = React.useState(0);

  React.useEffect(() => {
    let live = true;
    api<{ pair: TPair | null }>(evaluationPaths.nextPair(workspace.slug, id), { method: 'POST' })
      .then((r) => {
        if (!live) return;
        setPair(r.pair);
        if (r.pair) setRated(r.pair.rated);
      })
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [workspace.slug, id]);

  const rate = async (verdict: 'left' | 'right' | 'tie') => {
    if (!pair) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ pair: TPair | null }>(evaluationPaths.rate(workspace.slug, id, pair.id), {
        method: 'POST',
        body: { verdict },
      });
      setRated((n) => r.pair?.rated ?? n + 1);
      setPair(r.pair);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="grid gap-6">
      {error ? (
        <p role="alert" className="text-sm text-destructive">
          {error}
        </p>
      ) : null}
      {pair === undefined ? <Skeleton className="h-64" role="status" aria-label={t('common.loading')} /> : null}
      {pair === null ? (
        <EmptyState
          icon={rated ? CheckCircle2Icon : ScaleIcon}
          title={t('evaluations.rating.title')}
          description={rated ? t('evaluations.rating.done') : t('evaluations.rating.empty')}
        />
      ) : null}
      {pair ? (
        <Card>
          <CardHeader>
            <CardTitle className="text-base">{t('evaluations.detail.prompt')}</CardTitle>
            {pair.messages.map((m, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a prompt's turns never move
              <p key={`${i}-${m.role}`} className="whitespace-pre-wrap text-sm">
                <span className="font-mono text-xs text-muted-foreground">{m.role}: </span>
                {m.content}
              </p>
            ))}
            <CardDescription className="whitespace-pre-wrap pt-2">
              {t('evaluations.rating.reference')}: {pair.label}
            </CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <div className="grid gap-4 md:grid-cols-2">
              <section
                className="grid content-start gap-2 rounded-md border p-4"
                aria-label={t('evaluations.rating.answerA')}
              >
                <h2 className="text-sm font-medium">{t('evaluations.rating.answerA')}</h2>
                <p className="whitespace-pre-wrap text-sm">{pair.left}</p>
              </section>
              <section
                className="grid content-start gap-2 rounded-md border p-4"
                aria-label={t('evaluations.rating.answerB')}
              >
                <h2 className="text-sm font-medium">{t('evaluations.rating.answerB')}</h2>
                <p className="whitespace-pre-wrap text-sm">{pair.right}</p>
              </section>
            </div>
            <div className="flex flex-wrap gap-2">
              <Button onClick={() => rate('left')} disabled={busy}>
                {t('evaluations.rating.aBetter')}
              </Button>
              <Button onClick={() => rate('tie')} disabled={busy} variant="outline">
                {t('evaluations.rating.tie')}
              </Button>
              <Button onClick={() => rate('right')} disabled={busy}>
                {t('evaluations.rating.bBetter')}
              </Button>
            </div>
            <p className="text-xs text-muted-foreground">{t('evaluations.rating.rated', { count: rated })}</p>
          </CardContent>
        </Card>
      ) : null}
      <WinRates id={id} version={version} />
    </div>
  );
}

function WinRates({ id, version }: { id: string; version: number }) {
  const t = useT();
  const locale = useLocale();
  const { workspace } = useWorkspace();
  const { state } = usePoll<TList<TWinRate>>(
    `${evaluationPaths.winRates(workspace.slug, id)}?v=${version}`,
    () => null,
  );
  const rows = state.status === 'ready' ? (state.data.data ?? []) : [];
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('evaluations.rating.winRates')}</CardTitle>
        <CardDescription>{t('evaluations.rating.winRatesDescription')}</CardDescription>
      </CardHeader>
      <CardContent>
        {rows.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t('evaluations.rating.noRatings')}</p>
        ) : (
          <Table aria-label={t('evaluations.rating.winRates')}>
            <TableHeader>
              <TableRow>
                <TableHead>{t('evaluations.rating.colPair')}</TableHead>
                <TableHead className="text-right">{t('evaluations.rating.colRatings')}</TableHead>
                <TableHead className="text-right">{t('evaluations.rating.colRecord')}</TableHead>
                <TableHead className="text-right">{t('evaluations.rating.colWinRate')}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {rows.map((r) => (
                <TableRow key={`${r.a.index}-${r.b.index}`}>
                  <TableCell className="font-mono text-xs">
                    {evaluationModelLabel(r.a, t, locale)} · {evaluationModelLabel(r.b, t, locale)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{formatNumber(r.n, locale)}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    {r.winsA} · {r.ties} · {r.winsB}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {r.interval
                      ? t('evaluations.rating.interval', {
                          rate: pct(r.winRateA, locale),
                          low: pct(r.interval[0], locale),
                          high: pct(r.interval[1], locale),
                        })
                      : pct(r.winRateA, locale)}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
