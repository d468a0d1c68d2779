'use client';

import * as React from 'react';
import { ApiError, api, type TList } from '@/lib/api-client';
import { ftPaths, isActive, type TCheckpoint, type TJob, type TJobEvent, type TMetric } from './types';

export type TJobView = {
  job: TJob | null;
  metrics: TMetric[];
  events: TJobEvent[];
  checkpoints: TCheckpoint[];
  error: ApiError | null;
  /** 'live' while the SSE stream is open; 'polling' when it is not available and we fall back to REST. */
  connection: 'connecting' | 'live' | 'polling' | 'closed';
};

const POLL_MS = 4000;

const asApiError = (error: unknown) => (error instanceof ApiError ? error : new ApiError(0, 'unknown', String(error)));

/** Metrics keyed by step: the stream replays history we may already have, and a step must never show twice. */
function mergeMetrics(current: TMetric[], incoming: TMetric[]): TMetric[] {
  if (incoming.length === 0) return current;
  const byStep = new Map(current.map((m) => [m.step, m]));
  for (const m of incoming) if (typeof m?.step === 'number') byStep.set(m.step, { ...byStep.get(m.step), ...m });
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function mergeEvents(current: TJobEvent[], incoming: TJobEvent[]): TJobEvent[] {
  if (incoming.length === 0) return current;
  const byId = new Map(current.map((e) => [e.id, e]));
  for (const e of incoming) if (e?.id) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function parse<T>(data: string): T | null {
  try {
    return JSON.parse(data) as T;
  } catch {
    return null;
  }
}

/**
 * A job page's data, refresh-safe: first the history over REST (job, metrics, events, checkpoints), then the SSE
 * stream (`metric`, `event`, `status`), which replays history too — rows are merged by step / id, so the overlap
 * is harmless. When the stream cannot be opened the page keeps up by polling the REST routes instead.
 */
export function useJobStream(slug: string, jobId: string) {
  const [view, setView] = React.useState<TJobView>({
    job: null,
    metrics: [],
    events: [],
    checkpoints: [],
    error: null,
    connection: 'connecting',
  });
  const [attempt, setAttempt] = React.useState(0);
  const refetchRef = React.useRef<() => Promise<void>>(async () => undefined);

  React.useEffect(() => {
    let live = true;
    let source: EventSource | null = null;
    let poll: ReturnType<typeof setInterval> | null = null;
    let watchdog: ReturnType<typeof setInterval> | null = null;
    void attempt;

    const loadHistory = async () => {
      const [job, metrics, events, checkpoints] = await Promise.all([
        api<TJob>(ftPaths.job(slug, jobId)),
        api<TList<TMetric>>(ftPaths.metrics(slug, jobId)).catch(() => ({ data: [] as TMetric[] })),
        api<TList<TJobEvent>>(ftPaths.events(slug, jobId)).catch(() => ({ data: [] as TJobEvent[] })),
        api<TList<TCheckpoint>>(ftPaths.checkpoints(slug, jobId)).catch(() => ({ data: [] as TCheckpoint[] })),
      ]);
      if (!live) return job;
      setView((v) => ({
        ...v,
        job,
        metrics: mergeMetrics(v.metrics, metrics.data ?? []),
        events: mergeEvents(v.events, events.data ?? []),
        checkpoints: checkpoints.data ?? [],
        error: null,
      }));
      return job;
    };
    refetchRef.current = async () => {
      await loadHistory().catch(() => undefined);
    };

    const stopPolling = () => {
      if (poll) clearInterval(poll);
      poll = null;
    };
    const startPolling = () => {
      if (poll || !live) return;
      setView((v) => ({ ...v, connection: 'polling' }));
      poll = setInterval(async () => {
        const job = await loadHistory().catch(() => null);
        if (job && !isActive(job.status)) {
          stopPolling();
          setView((v) => ({ ...v, connection: 'closed' }));
        }
      }, POLL_MS);
    };

    const openStream = () => {
      if (typeof EventSource === 'undefined') return startPolling();
      source = new EventSource(ftPaths.stream(slug, jobId));
      source.onopen = () => live && setView((v) => ({ ...v, connection: 'live' }));
      source.addEventListener('metric', (e) => {
        const metric = parse<TMetric>((e as MessageEvent).data);
        if (metric && live) setView((v) => ({ ...v, metrics: mergeMetrics(v.metrics, [metric]) }));
      });
      source.addEventListener('event', (e) => {
        const event = parse<TJobEvent>((e as MessageEvent).data);
        if (event && live) setView((v) => ({ ...v, events: mergeEvents(v.events, [event]) }));
      });
      source.addEventListener('status', (e) => {
        const job = parse<TJob>((e as MessageEvent).data);
        if (!job || !live) return;
        setView((v) => ({ ...v, job: { ...v.job, ...job } }));
        // Checkpoints have no event of their own: a status change is a good moment to list them again.
        void api<TList<TCheckpoint>>(ftPaths.checkpoints(slug, jobId))
          .then((c) => live && setView((v) => ({ ...v, checkpoints: c.data ?? v.checkpoints })))
          .catch(() => undefined);
        if (!isActive(job.status)) {
          source?.close();
          setView((v) => ({ ...v, connection: 'closed' }));
        }
      });
      // A status change can be missed (published while the stream reconnects, or the stream closed as the job
      // ended): re-read the row now and then while streaming, so the page always reaches the job's final state.
      watchdog = setInterval(async () => {
        const job = await loadHistory().catch(() => null);
        if (job && !isActive(job.status) && live) {
          if (watchdog) clearInterval(watchdog);
          watchdog = null;
          source?.close();
          setView((v) => ({ ...v, connection: 'closed' }));
        }
      }, POLL_MS * 2);
      source.onerror = () => {
        // EventSource retries by itself after a dropped connection; only a refused one (CLOSED) needs the fallback.
        if (source?.readyState === EventSource.CLOSED && live) startPolling();
      };
    };

    loadHistory()
      .then((job) => {
        if (!live) return;
        if (isActive(job.status)) openStream();
        else setView((v) => ({ ...v, connection: 'closed' }));
      })
      .catch((error: unknown) => live && setView((v) => ({ ...v, error: asApiError(error) })));

    return () => {
      live = false;
      if (watchdog) clearInterval(watchdog);
      source?.close();
      stopPolling();
    };
  }, [slug, jobId, attempt]);

  const retry = React.useCallback(() => setAttempt((a) => a + 1), []);
  const refetch = React.useCallback(() => refetchRef.current(), []);
  return { view, retry, refetch };
}
