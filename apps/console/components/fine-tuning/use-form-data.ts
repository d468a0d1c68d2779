'use client';

import * as React from 'react';
import { ApiError, api, type TList } from '@/lib/api-client';
import {
  ftPaths,
  type TBaseModel,
  type TDataset,
  type TDatasetVersion,
  type TFineTunedModel,
  type TJob,
} from './types';

export type TVersionOption = TDatasetVersion & { datasetId: string; datasetName: string };

export type TFormData =
  | { status: 'loading' }
  | { status: 'error'; error: ApiError }
  | {
      status: 'ready';
      baseModels: TBaseModel[];
      /** Fine-tuned models a job may continue (SFT -> DPO). */
      fineTuned: TFineTunedModel[];
      versions: TVersionOption[];
      source: TJob | null;
    };

const asApiError = (error: unknown) => (error instanceof ApiError ? error : new ApiError(0, 'unknown', String(error)));

/**
 * Everything the create form picks from: the workspace's base models, every published dataset version (the
 * dataset routes list datasets, then each dataset's versions), and the job being cloned when `?from=` is set.
 */
export function useFormData(slug: string, fromJobId: string | null) {
  const [state, setState] = React.useState<TFormData>({ status: 'loading' });
  const [attempt, setAttempt] = React.useState(0);
  React.useEffect(() => {
    let live = true;
    void attempt;
    setState({ status: 'loading' });
    (async () => {
      const [models, fineTuned, datasets, source] = await Promise.all([
        api<TList<TBaseModel>>(ftPaths.baseModels(slug)),
        api<TList<TFineTunedModel>>(ftPaths.fineTunedModels(slug)),
        api<TList<TDataset>>(ftPaths.datasets(slug)),
        fromJobId ? api<TJob>(ftPaths.job(slug, fromJobId)) : Promise.resolve(null),
      ]);
      const perDataset = await Promise.all(
        (datasets.data ?? []).map(async (d) => {
          const versions = await api<TList<TDatasetVersion>>(ftPaths.datasetVersions(slug, d.id));
          return (versions.data ?? [])
            .filter((v) => v.status === 'published')
            .map((v) => ({ ...v, datasetId: d.id, datasetName: d.name }));
        }),
      );
      // A model still downloading (or whose download failed) cannot be trained yet.
      const ready = (models.data ?? []).filter((m) => !m.status || m.status === 'ready');
      return { baseModels: ready, fineTuned: fineTuned.data ?? [], versions: perDataset.flat(), source };
    })()
      .then((data) => live && setState({ status: 'ready', ...data }))
      .catch((error: unknown) => live && setState({ status: 'error', error: asApiError(error) }));
    return () => {
      live = false;
    };
  }, [slug, fromJobId, attempt]);
  const retry = React.useCallback(() => setAttempt((a) => a + 1), []);
  return { state, retry };
}

/**
 * POSTs the estimate for `body` a moment after the last change (debounced). The last answer stays on screen while
 * a new one is computed (`loading`), and an answer to an older body is dropped.
 */
export function useEstimate<T>(slug: string, body: unknown | null, delayMs = 400) {
  const key = body === null ? null : JSON.stringify(body);
  const [value, setValue] = React.useState<T | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  const [loading, setLoading] = React.useState(false);
  React.useEffect(() => {
    if (key === null) {
      setValue(null);
      setError(null);
      setLoading(false);
      return;
    }
    let live = true;
    setLoading(true);
    const timer = setTimeout(() => {
      api<T>(ftPaths.estimate(slug), { method: 'POST', body: JSON.parse(key) })
        .then((answer) => {
          if (!live) return;
          setValue(answer);
          setError(null);
        })
        .catch((e: unknown) => {
          if (!live) return;
          setValue(null);
          setError(asApiError(e));
        })
        .finally(() => live && setLoading(false));
    }, delayMs);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [slug, key, delayMs]);
  return { value, error, loading };
}
