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
  return db.trainingMetric.upsert({
    where: { jobId_step: { jobId: m.jobId, step: m.step } },
    create: { workspaceId: m.workspaceId, jobId: m.jobId, step: m.step, ...values },
    update: values,
  });
}
