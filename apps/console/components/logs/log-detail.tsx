'use client';

import { Trash2Icon } from 'lucide-react';
import * as React from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { type ApiError, api } from '@/lib/api-client';
import { useLocale, useT } from '@/lib/i18n/client';
import { formatDate, formatNumber } from '@/lib/utils';
import { formatMs } from '../deployments/api';
import { usePoll } from '../deployments/use-poll';
import { logPaths, type TLogDetail, type TRating } from './api';
import { Thumbs } from './thumbs';

const ROLES = ['system', 'developer', 'user', 'assistant'] as const;

/** One kept request whole: its messages, the answer, metadata, numbers; thumbs and delete. */
export function LogDetailDialog({
  id,
  canEdit,
  onClose,
  onChanged,
  onDeleted,
}: {
  id: string;
  canEdit: boolean;
  onClose: () => void;
  onChanged: () => void;
  onDeleted: (id: string) => void;
}) {
  const t = useT();
  const locale = useLocale();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const { state, reload } = usePoll<TLogDetail>(logPaths.one(workspace.slug, id), () => null);
  const [confirming, setConfirming] = React.useState(false);
  const log = state.status === 'ready' ? state.data : null;

  async function rate(rating: TRating | null) {
    try {
      await api(logPaths.rating(workspace.slug, id), { method: 'PUT', body: { rating } });
      toast({ title: t('logs.rated') });
      reload();
      onChanged();
    } catch (error) {
      toast({ variant: 'error', title: t('errors.title'), description: (error as ApiError).message });
    }
  }

  const roleLabel = (role: string) =>
    (ROLES as readonly string[]).includes(role) ? t(`logs.role.${role as (typeof ROLES)[number]}`) : role;

  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-h-[90vh] overflow-y-auto sm:max-w-2xl" closeLabel={t('common.close')}>
        <DialogHeader>
          <DialogTitle className="font-mono text-sm break-all">{t('logs.detailTitle', { id })}</DialogTitle>
          <DialogDescription>
            {log ? `${formatDate(log.createdAt, locale)} · ${log.model}` : t('common.loading')}
          </DialogDescription>
        </DialogHeader>
        {log ? (
          <div className="grid gap-4" data-testid="log-detail">
            <div className="flex flex-wrap items-center gap-2 text-xs">
              <Badge variant="secondary">{t(`logs.sourceName.${log.source}`)}</Badge>
              {log.deployment?.name ? <Badge variant="outline">{log.deployment.name}</Badge> : null}
              <Badge variant="outline">{formatMs(log.latencyMs, locale)}</Badge>
              <Badge variant="outline">
                {t('logs.tokens', {
                  prompt: formatNumber(log.promptTokens, locale),
                  completion: formatNumber(log.completionTokens, locale),
                })}
              </Badge>
              {log.finishReason ? <Badge variant="outline">{log.finishReason}</Badge> : null}
            </div>
            <section className="grid gap-2">
              <h4 className="text-sm font-medium">{t('logs.messages')}</h4>
              {log.messages.map((m, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a stored request's messages never change order
                <div key={i} className="rounded-md border p-2 text-sm" data-testid="log-message">
                  <p className="text-xs font-medium text-muted-foreground">{roleLabel(m.role)}</p>
                  <p className="whitespace-pre-wrap [overflow-wrap:anywhere]">{m.content}</p>
                </div>
              ))}
            </section>
            <section className="grid gap-2">
              <h4 className="text-sm font-medium">{t('logs.answer')}</h4>
              <div
                className="rounded-md bg-muted p-2 text-sm whitespace-pre-wrap [overflow-wrap:anywhere]"
                data-testid="log-answer"
              >
                {log.answer}
              </div>
            </section>
            {Object.keys(log.metadata).length > 0 ? (
              <section className="grid gap-1">
                <h4 className="text-sm font-medium">{t('logs.metadata')}</h4>
                <dl className="grid grid-cols-[auto_1fr] gap-x-3 font-mono text-xs">
                  {Object.entries(log.metadata).map(([k, v]) => (
                    <React.Fragment key={k}>
                      <dt className="text-muted-foreground">{k}</dt>
                      <dd className="break-all">{v}</dd>
                    </React.Fragment>
                  ))}
                </dl>
              </section>
            ) : null}
            <div className="flex items-center justify-between gap-2">
              <Thumbs rating={log.rating} disabled={!canEdit} onRate={(r) => void rate(r)} />
              <span className="text-xs text-muted-foreground">
                {t('logs.keptUntil', { date: formatDate(log.expiresAt, locale) })}
              </span>
              {canEdit ? (
                <Button variant="outline" size="sm" onClick={() => setConfirming(true)}>
                  <Trash2Icon aria-hidden />
                  {t('logs.delete')}
                </Button>
              ) : null}
            </div>
          </div>
        ) : null}
        <ConfirmDialog
          open={confirming}
          onOpenChange={setConfirming}
          title={t('logs.deleteTitle')}
          description={t('logs.deleteDescription')}
          confirmLabel={t('logs.delete')}
          onConfirm={async () => {
            try {
              await api(logPaths.one(workspace.slug, id), { method: 'DELETE' });
              toast({ title: t('logs.deleted') });
              onDeleted(id);
            } catch (error) {
              toast({ variant: 'error', title: t('errors.title'), description: (error as ApiError).message });
            }
          }}
        />
      </DialogContent>
    </Dialog>
  );
}
