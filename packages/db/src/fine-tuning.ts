/**
 * Data access for fine-tuning jobs shared by the trainer worker and the console: metrics written once per job and
 * step. Prices and charges are @crucible/billing's.
 */
import { getPrisma, type TDb } from './client';

export type TTrainingMetricInput = {
  workspaceId: string;
  jobId: string;
  step: number;
  epoch?: number | null;
  loss?: number | null;
  evalLoss?: number | null;
  learningRate?: number | null;
  gradNorm?: number | null;
  tokensPerSecond?: number | null;
  tokensSeen?: number | null;
  /** Preference training's metrics under TRL's names (`rewards/margins`, `eval_rewards/margins`, ...). */
  extra?: Record<string, number>;
};

const finite = (v: number | null | undefined) => (v === undefined || v === null || !Number.isFinite(v) ? undefined : v);

/**
 * One row per (job, step): a second delivery of the same step (a resumed run recomputing the steps after its last
 * checkpoint, a redelivered message) updates the row instead of adding one. Fields the update does not carry are
 * kept (an eval loss arrives after the step's training loss).
 */
export async function upsertTrainingMetric(m: TTrainingMetricInput, db: TDb = getPrisma()) {
  const values = {
    epoch: finite(m.epoch),
    loss: finite(m.loss),
    evalLoss: finite(m.evalLoss),
    learningRate: finite(m.learningRate),
    gradNorm: finite(m.gradNorm),
    tokensPerSecond: finite(m.tokensPerSecond),
    tokensSeen: m.tokensSeen === undefined || m.tokensSeen === null ? undefined : BigInt(Math.round(m.tokensSeen)),
  };
  // The step's training metrics and its eval metrics arrive one after the other (the trainer's outbox keeps their
  // order): the second merges into what the first wrote.
  const extra = Object.fromEntries(Object.entries(m.extra ?? {}).filter(([, v]) => Number.isFinite(v)));
  let data: Record<string, number> | undefined;
  if (Object.keys(extra).length > 0) {
    const row = await db.trainingMetric.findUnique({
      where: { jobId_step: { jobId: m.jobId, step: m.step } },
      select: { data: true },
    });
    data = { ...((row?.data as Record<string, number> | null) ?? {}), ...extra };
  }
  return db.trainingMetric.upsert({
    where: { jobId_step: { jobId: m.jobId, step: m.step } },
    create: { workspaceId: m.workspaceId, jobId: m.jobId, step: m.step, ...values, data },
    update: { ...values, data },
  });
}

/**
 * A metric row as the APIs and the live stream show it: the platform's fields, then the preference metrics with
 * TRL's names (`rewards/chosen`, `rewards/rejected`, `rewards/accuracies`, `rewards/margins`, `logps/chosen`,
 * `logps/rejected`, and `eval_` ones) where the run logged them.
 */
export function metricRowJson(m: {
  step: number;
  epoch: number | null;
  loss: number | null;
  evalLoss: number | null;
  learningRate: number | null;
  gradNorm: number | null;
  tokensPerSecond: number | null;
  tokensSeen: bigint | null;
  data?: unknown;
  createdAt: Date;
}) {
  return {
    step: m.step,
    epoch: m.epoch,
    loss: m.loss,
    evalLoss: m.evalLoss,
    lr: m.learningRate,
    gradNorm: m.gradNorm,
    tokensPerSec: m.tokensPerSecond,
    tokensSeen: m.tokensSeen === null ? null : Number(m.tokensSeen),
    createdAt: m.createdAt.toISOString(),
    ...(m.data && typeof m.data === 'object' ? (m.data as Record<string, number>) : {}),
  };
}
