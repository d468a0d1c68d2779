// Pure progress and cost helpers of the job pages, apart from the components so unit tests can import them.

/** Percentage of a job: the API's value, else step / total steps. */
export function jobPercentage(
  progress:
    | {
        percentage?: number | null;
        step?: number | null;
        totalSteps?: number | null;
      }
    | null
    | undefined,
): number | null {
  if (!progress) return null;
  if (typeof progress.percentage === 'number' && Number.isFinite(progress.percentage)) return progress.percentage;
  if (progress.totalSteps && typeof progress.step === 'number') return (100 * progress.step) / progress.totalSteps;
  return null;
}

type TProgressInput = {
  status: string;
  progress?: {
    step?: number | null;
    totalSteps?: number | null;
    epoch?: number | null;
    percentage?: number | null;
  } | null;
};

/**
 * The progress card's step, epoch and percentage from the same live data as the charts (issue 13, item 9): the
 * job row's `currentStep` is written less often than metrics are streamed, so the card showed "Step 0, 0%" while
 * the chart already had 14 steps. The furthest of the row and the last streamed metric wins.
 */
export function liveProgress(
  job: TProgressInput,
  lastMetric: { step: number; epoch?: number | null } | undefined,
): { step: number; totalSteps: number | null; epoch: number | null; percentage: number | null } {
  const rowStep = job.progress?.step ?? 0;
  const metricStep = lastMetric?.step ?? 0;
  const totalSteps = job.progress?.totalSteps ?? null;
  const step = totalSteps ? Math.min(totalSteps, Math.max(rowStep, metricStep)) : Math.max(rowStep, metricStep);
  const fromMetric = metricStep > rowStep;
  const epoch = fromMetric ? (lastMetric?.epoch ?? job.progress?.epoch ?? null) : (job.progress?.epoch ?? null);
  let percentage: number | null;
  if (job.status === 'succeeded') percentage = 100;
  else if (totalSteps) percentage = (100 * step) / totalSteps;
  else percentage = jobPercentage(job.progress);
  return { step, totalSteps, epoch, percentage };
}

/** Which cost the card shows: the estimate before anything is charged, then the running or the final charge. */
export function costKind(job: { status: string; cost?: unknown }): 'estimated' | 'soFar' | 'final' | null {
  const cost = job.cost;
  if (cost === null || cost === undefined) return null;
  if (typeof cost === 'object' && (cost as { estimated?: boolean }).estimated === true) return 'estimated';
  return ['succeeded', 'failed', 'cancelled'].includes(job.status) ? 'final' : 'soFar';
}
