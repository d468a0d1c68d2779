'use client';

import * as React from 'react';
import { ApiError, api, type TList } from './api-client';

export type TListState<T> =
  | { status: 'loading' }
  | { status: 'error'; error: ApiError }
  | { status: 'ready'; items: T[] };

/** Loads a `{ data: [...] }` list route; `reload()` refetches after a mutation. */
export function useList<T>(path: string) {
  const [state, setState] = React.useState<TListState<T>>({ status: 'loading' });
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    let live = true;
    // `version` is read so a reload() re-runs this effect.
    void version;
    api<TList<T>>(path)
      .then((body) => live && setState({ status: 'ready', items: Array.isArray(body?.data) ? body.data : [] }))
      .catch(
        (error: unknown) =>
          live &&
          setState({
            status: 'error',
            error: error instanceof ApiError ? error : new ApiError(0, 'unknown', String(error)),
          }),
      );
    return () => {
      live = false;
    };
  }, [path, version]);
  const reload = React.useCallback(() => setVersion((v) => v + 1), []);
  return { state, reload };
}
