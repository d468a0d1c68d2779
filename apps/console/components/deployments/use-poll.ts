'use client';

import * as React from 'react';
import { ApiError, api } from '@/lib/api-client';

export type TPollState<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ready'; data: T };

/**
 * GETs `path` and polls it again every `intervalMs(data)` milliseconds (null: stop). A failed poll after a good
 * answer keeps the last data on screen: a hiccup should not blank a page someone is watching.
 */
export function usePoll<T>(path: string | null, intervalMs: (data: T) => number | null) {
  const [state, setState] = React.useState<TPollState<T>>({ status: 'loading' });
  const [version, setVersion] = React.useState(0);
  const interval = React.useRef(intervalMs);
  interval.current = intervalMs;
  React.useEffect(() => {
    if (!path) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    void version;
    const load = async () => {
      try {
        const data = await api<T>(path);
        if (!live) return;
        setState({ status: 'ready', data });
        const next = interval.current(data);
        if (next !== null) timer = setTimeout(load, next);
      } catch (error) {
        if (!live) return;
        const apiError = error instanceof ApiError ? error : new ApiError(0, 'unknown', String(error));
        setState((previous) => (previous.status === 'ready' ? previous : { status: 'error', error: apiError }));
        // Keep trying while the page is open unless the thing is gone.
        if (apiError.status !== 404 && apiError.status !== 403) timer = setTimeout(load, 10_000);
      }
    };
    void load();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [path, version]);
  const reload = React.useCallback(() => setVersion((v) => v + 1), []);
  return { state, reload };
}

/** Re-renders every `ms` so durations such as uptime tick. */
export function useNow(ms: number): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
