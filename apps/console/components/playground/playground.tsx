'use client';

import {
  AlertTriangleIcon,
  Code2Icon,
  Columns2Icon,
  FlaskConicalIcon,
  MessagesSquareIcon,
  SendIcon,
  SquareIcon,
  Trash2Icon,
} from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { TableSkeleton } from '@/components/resource-table';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { useToast } from '@/components/ui/toast';
import { useWorkspace } from '@/components/workspace-context';
import { type ApiError, api, type TList } from '@/lib/api-client';
import { useT } from '@/lib/i18n/client';
import { cn } from '@/lib/utils';
import { deploymentPaths } from '../deployments/api';
import { usePoll } from '../deployments/use-poll';
import { logPaths, type TRating } from '../logs/api';
import { ChatPane, type TChatModel, type TTurn } from './chat-pane';
import { CodeDialog } from './code-dialog';
import { comparePartner } from './compare';
import { clampSampling, DEFAULT_SAMPLING, SettingsPanel } from './settings-panel';
import { ChatStreamError, streamChat, type TChatMessage, type TSampling } from './stream';

type TPane = { key: 'a' | 'b'; model: string; turns: TTurn[] };

/** The history a pane sends: system prompt, then its finished turns (failed answers are left out). */
function historyOf(turns: TTurn[], system: string): TChatMessage[] {
  const messages: TChatMessage[] = system.trim() ? [{ role: 'system', content: system.trim() }] : [];
  for (const turn of turns) {
    if (turn.role === 'user') messages.push({ role: 'user', content: turn.content });
    else if (!turn.error && turn.content) messages.push({ role: 'assistant', content: turn.content });
  }
  return messages;
}

/** `/w/[slug]/playground`: chat with one model, or two side by side, streaming, with the code to do it yourself. */
export function Playground({ apiBase, initialModel }: { apiBase: string; initialModel?: string }) {
  const t = useT();
  const toast = useToast();
  const { workspace } = useWorkspace();
  const { state, reload } = usePoll<TList<TChatModel>>(deploymentPaths.chatModels(workspace.slug), () => null);
  const models = state.status === 'ready' ? (state.data.data ?? []) : [];

  const [panes, setPanes] = React.useState<TPane[]>([{ key: 'a', model: '', turns: [] }]);
  const [system, setSystem] = React.useState('');
  const [sampling, setSampling] = React.useState<TSampling>(DEFAULT_SAMPLING);
  const [input, setInput] = React.useState('');
  const [codeOpen, setCodeOpen] = React.useState(false);
  const controllers = React.useRef(new Map<string, AbortController>());
  const [streaming, setStreaming] = React.useState(0);

  // Choose the first model once the list arrives: the one asked for in ?model=, else a deployed one, else any.
  React.useEffect(() => {
    if (models.length === 0) return;
    setPanes((current) =>
      current.map((pane, i) => {
        if (pane.model && models.some((m) => m.id === pane.model)) return pane;
        const preferred =
          (i === 0 ? models.find((m) => m.id === initialModel) : undefined) ??
          models.find((m) => m.deployed && !current.some((p) => p.model === m.id)) ??
          models.find((m) => !current.some((p) => p.model === m.id)) ??
          models[0];
        return { ...pane, model: preferred?.id ?? '' };
      }),
    );
  }, [models, initialModel]);

  React.useEffect(() => {
    const running = controllers.current;
    return () => {
      for (const controller of running.values()) controller.abort();
    };
  }, []);

  const updateLastTurn = (key: string, patch: Partial<Extract<TTurn, { role: 'assistant' }>>) =>
    setPanes((current) =>
      current.map((pane) => {
        if (pane.key !== key) return pane;
        const turns = [...pane.turns];
        const last = turns.at(-1);
        if (last?.role === 'assistant') turns[turns.length - 1] = { ...last, ...patch };
        return { ...pane, turns };
      }),
    );

  async function runPane(pane: TPane, prompt: string, settings: TSampling) {
    const controller = new AbortController();
    controllers.current.set(pane.key, controller);
    setStreaming((n) => n + 1);
    const messages = [...historyOf(pane.turns, system), { role: 'user' as const, content: prompt }];
    try {
      const result = await streamChat({
        slug: workspace.slug,
        model: pane.model,
        messages,
        sampling: settings,
        signal: controller.signal,
        onDelta: (text) => updateLastTurn(pane.key, { content: text }),
      });
      updateLastTurn(pane.key, {
        content: result.text,
        requestId: result.requestId,
        sent: messages,
        streaming: false,
        usage: result.usage,
        firstTokenMs: result.firstTokenMs,
        totalMs: result.totalMs,
      });
    } catch (error) {
      const aborted = controller.signal.aborted;
      updateLastTurn(pane.key, {
        streaming: false,
        error: aborted
          ? t('playground.stopped')
          : error instanceof ChatStreamError
            ? error.message
            : error instanceof TypeError
              ? t('errors.network')
              : String(error),
      });
    } finally {
      controllers.current.delete(pane.key);
      setStreaming((n) => n - 1);
    }
  }

  function send() {
    const prompt = input.trim();
    if (!prompt || streaming > 0 || workspace.role === 'viewer' || panes.some((p) => !p.model)) return;
    const settings = clampSampling(sampling);
    setSampling(settings);
    setInput('');
    // Both panes get the same prompt; each answers from its own history.
    const sent = panes;
    setPanes((current) =>
      current.map((pane) => ({
        ...pane,
        turns: [...pane.turns, { role: 'user', content: prompt }, { role: 'assistant', content: '', streaming: true }],
      })),
    );
    for (const pane of sent) void runPane(pane, prompt, settings);
  }

  /** Thumbs on an answer: rated turns are kept (request logs), ready to add to a dataset (issue 16). */
  async function rateTurn(key: string, index: number, rating: TRating | null) {
    const pane = panes.find((p) => p.key === key);
    const turn = pane?.turns[index];
    if (turn?.role !== 'assistant' || !turn.requestId) return;
    try {
      await api(logPaths.rating(workspace.slug, turn.requestId), {
        method: 'PUT',
        body: { rating, turn: { messages: turn.sent ?? [], answer: turn.content } },
      });
      setPanes((current) =>
        current.map((p) =>
          p.key === key
            ? { ...p, turns: p.turns.map((x, i) => (i === index && x.role === 'assistant' ? { ...x, rating } : x)) }
            : p,
        ),
      );
      if (rating) toast({ title: t('playground.rated') });
    } catch (error) {
      toast({ variant: 'error', title: t('errors.title'), description: (error as ApiError).message });
    }
  }

  function stop() {
    for (const controller of controllers.current.values()) controller.abort();
  }

  function clear() {
    stop();
    setPanes((current) => current.map((pane) => ({ ...pane, turns: [] })));
  }

  function compare() {
    setPanes((current) => {
      if (current.length > 1) return current;
      return [...current, { key: 'b', model: comparePartner(models, current[0]?.model ?? ''), turns: [] }];
    });
  }

  if (state.status === 'loading') return <TableSkeleton columns={2} rows={3} label={t('common.loading')} />;
  if (state.status === 'error') {
    return (
      <EmptyState
        icon={AlertTriangleIcon}
        title={t('errors.title')}
        description={state.error.code === 'network' ? t('errors.network') : t('errors.unknown')}
        action={
          <Button variant="outline" onClick={reload}>
            {t('common.retry')}
          </Button>
        }
      />
    );
  }
  if (models.length === 0) {
    return (
      <EmptyState
        icon={MessagesSquareIcon}
        title={t('playground.emptyTitle')}
        description={t('playground.emptyDescription')}
        action={
          <Button asChild>
            <Link href={`/w/${workspace.slug}/fine-tuning`}>
              <FlaskConicalIcon aria-hidden />
              {t('playground.emptyAction')}
            </Link>
          </Button>
        }
      />
    );
  }

  const codeModel = panes[0]?.model ?? '';
  const lastPrompt = [...(panes[0]?.turns ?? [])].reverse().find((turn) => turn.role === 'user')?.content;
  const codeMessages: TChatMessage[] = [
    ...(system.trim() ? [{ role: 'system' as const, content: system.trim() }] : []),
    { role: 'user', content: input.trim() || lastPrompt || t('playground.code.samplePrompt') },
  ];
  const hasTurns = panes.some((p) => p.turns.length > 0);
  // The gateway lets developers and above chat (a viewer's request would be refused with 403): say so up front.
  const canChat = workspace.role !== 'viewer';

  return (
    <div className="grid gap-6 xl:grid-cols-[minmax(0,1fr)_300px]">
      <div className="grid min-w-0 content-start gap-4">
        <div className="flex flex-wrap items-center justify-end gap-2">
          {panes.length === 1 ? (
            <Button variant="outline" size="sm" onClick={compare} disabled={streaming > 0}>
              <Columns2Icon aria-hidden />
              {t('playground.compare')}
            </Button>
          ) : null}
          <Button variant="outline" size="sm" onClick={clear} disabled={!hasTurns}>
            <Trash2Icon aria-hidden />
            {t('playground.clear')}
          </Button>
          <Button variant="outline" size="sm" onClick={() => setCodeOpen(true)} disabled={!codeModel}>
            <Code2Icon aria-hidden />
            {t('playground.viewCode')}
          </Button>
        </div>
        <div className={cn('grid gap-4', panes.length > 1 && 'lg:grid-cols-2')}>
          {panes.map((pane, i) => (
            <ChatPane
              key={pane.key}
              label={t('playground.paneLabel', { n: i + 1 })}
              models={models}
              model={pane.model}
              turns={pane.turns}
              onRate={canChat ? (index, rating) => void rateTurn(pane.key, index, rating) : undefined}
              onModelChange={(model) =>
                setPanes((current) => current.map((p) => (p.key === pane.key ? { ...p, model } : p)))
              }
              onRemove={
                panes.length > 1 && streaming === 0
                  ? () => setPanes((current) => current.filter((p) => p.key !== pane.key))
                  : undefined
              }
            />
          ))}
        </div>
        <form
          className="grid gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            send();
          }}
        >
          <textarea
            value={input}
            rows={3}
            aria-label={t('playground.message')}
            placeholder={t('playground.messagePlaceholder')}
            className="w-full resize-y rounded-md border border-input bg-card px-3 py-2 text-sm shadow-xs outline-none placeholder:text-muted-foreground/70 focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/30"
            onChange={(event) => setInput(event.target.value)}
            onKeyDown={(event) => {
              // Enter sends, Shift+Enter is a new line; never while an IME is composing (Chinese input uses Enter).
              if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
                event.preventDefault();
                send();
              }
            }}
          />
          <div className="flex items-center justify-between gap-2">
            <p className="text-xs text-muted-foreground">
              {canChat ? t('playground.keyboardHint') : t('playground.viewerHint')}
            </p>
            {streaming > 0 ? (
              <Button type="button" variant="outline" onClick={stop}>
                <SquareIcon aria-hidden />
                {t('playground.stop')}
              </Button>
            ) : (
              <Button type="submit" disabled={!canChat || !input.trim() || panes.some((p) => !p.model)}>
                <SendIcon aria-hidden />
                {t('playground.send')}
              </Button>
            )}
          </div>
        </form>
      </div>
      <SettingsPanel system={system} onSystemChange={setSystem} sampling={sampling} onSamplingChange={setSampling} />
      {codeOpen ? (
        <CodeDialog
          open={codeOpen}
          onOpenChange={setCodeOpen}
          input={{ baseUrl: apiBase, model: codeModel, messages: codeMessages, sampling: clampSampling(sampling) }}
        />
      ) : null}
    </div>
  );
}
