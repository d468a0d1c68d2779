/**
 * Stage kto: LLaMA-Factory's CustomKTOTrainer (src/llamafactory/train/kto/trainer.py) with TRL's KTO loss.
 *
 * A micro-batch of B rows runs its B examples (with gradients) and their B KL rows (without). Log-probs are summed
 * over each completion. kl = max(0, mean over the KL rows of policy - reference), detached; a desirable row's loss
 * is w_d (1 - sigmoid(beta (logratio - kl))), an undesirable row's w_u (1 - sigmoid(beta (kl - logratio))); the
 * loss is their mean over the B rows. pref_ftx adds, as LLaMA-Factory does ("remember to rescale"),
 * ftx * mean_over_desirable(-logp / length) / n_desirable * B. Metrics are sums and counts per micro-batch and
 * become rewards/chosen = sum / count etc. at log time; `kl` is SUMMED over the logged micro-batches, as
 * CustomKTOTrainer.log sums every stored metric.
 */
import type { KtoExample, KtoSource } from '../data/feedback';
import type { Model } from '../model/types';
import { collate } from './batches';
import type { PreferenceObjective } from './preference';

export type KtoOptions = { beta: number; ftx: number; desirableWeight: number; undesirableWeight: number };

export const KTO_DEFAULTS: Readonly<Pick<KtoOptions, 'desirableWeight' | 'undesirableWeight'>> = Object.freeze({
  desirableWeight: 1,
  undesirableWeight: 1,
});

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export type KtoResult = { loss: number; grad: Float64Array; sums: Record<string, number> };

/**
 * The loss of B rows from the policy's and the reference's summed log-probs (lp, rp), the KL rows' (klPolicy,
 * klRef), the tags and the completion lengths. grad[i] = d(loss)/d(lp[i]).
 */
export function ktoLoss(
  o: KtoOptions,
  lp: Float64Array,
  rp: Float64Array,
  klPolicy: Float64Array,
  klRef: Float64Array,
  desirable: boolean[],
  lengths: Int32Array,
): KtoResult {
  const B = lp.length;
  let klSum = 0;
  for (let i = 0; i < B; i++) klSum += klPolicy[i] - klRef[i];
  const kl = Math.max(0, klSum / B);
  const grad = new Float64Array(B);
  const sums: Record<string, number> = { kl };
  let loss = 0;
  let nC = 0;
  let sft = 0;
  for (let i = 0; i < B; i++) {
    const lr = lp[i] - rp[i];
    const side = desirable[i] ? 'chosen' : 'rejected';
    if (desirable[i]) {
      const s = sigmoid(o.beta * (lr - kl));
      loss += o.desirableWeight * (1 - s);
      grad[i] = (-o.desirableWeight * o.beta * s * (1 - s)) / B;
      nC++;
      sft += -lp[i] / Math.max(1, lengths[i]);
    } else {
      const s = sigmoid(o.beta * (kl - lr));
      loss += o.undesirableWeight * (1 - s);
      grad[i] = (o.undesirableWeight * o.beta * s * (1 - s)) / B;
    }
    sums[`rewards/${side}_sum`] = (sums[`rewards/${side}_sum`] ?? 0) + o.beta * lr;
    sums[`logps/${side}_sum`] = (sums[`logps/${side}_sum`] ?? 0) + lp[i];
    sums[`count/${side}`] = (sums[`count/${side}`] ?? 0) + 1;
  }
  loss /= B;
  if (o.ftx > 1e-6 && nC > 0) {
    loss += ((o.ftx * sft) / nC / nC) * B;
    for (let i = 0; i < B; i++) if (desirable[i]) grad[i] += ((-o.ftx / Math.max(1, lengths[i]) / nC) * B) / nC;
  }
  return { loss, grad, sums };
}

/** CustomKTOTrainer.log: averages from sums and counts, margins when both sides were seen, the rest as summed. */
export function summarizeKto(sums: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  const rest = { ...sums };
  for (const side of ['chosen', 'rejected']) {
    const n = rest[`count/${side}`];
    if (n) {
      for (const key of ['rewards', 'logps']) {
        out[`${key}/${side}`] = rest[`${key}/${side}_sum`] / n;
        delete rest[`${key}/${side}_sum`];
      }
      delete rest[`count/${side}`];
    }
  }
  if ('rewards/chosen' in out && 'rewards/rejected' in out)
    out['rewards/margins'] = out['rewards/chosen'] - out['rewards/rejected'];
  return { ...out, ...rest };
}

function ktoForward(
  model: Model,
  rows: KtoExample[],
  o: KtoOptions,
  a: { padId: number; refModel?: Model | null; gradScale: number | null },
): { loss: number; sums: Record<string, number> } {
  const batch = collate(
    rows.map((r) => r.example),
    a.padId,
  );
  const klBatch = collate(
    rows.map((r) => r.kl),
    a.padId,
  );
  const ref = (b: typeof batch) =>
    a.refModel ? a.refModel.sequenceLogps(b) : model.sequenceLogps(b, { adapters: false });
  const rp = ref(batch).logps;
  const klRef = ref(klBatch).logps;
  const klPolicy = model.sequenceLogps(klBatch).logps;
  const tags = rows.map((r) => r.desirable);
  if (a.gradScale === null) {
    const r = model.sequenceLogps(batch);
    const res = ktoLoss(o, r.logps, rp, klPolicy, klRef, tags, r.counts);
    return { loss: res.loss, sums: res.sums };
  }
  let res: KtoResult | null = null;
  const scale = a.gradScale;
  model.accumulateRowGrad(
    batch,
    (r) => {
      res = ktoLoss(o, r.logps, rp, klPolicy, klRef, tags, r.counts);
      return res.grad.map((g) => g * scale);
    },
    // CustomKTOTrainer(disable_dropout=True): no dropout, lora_dropout included
    { dropout: false },
  );
  const done = res as KtoResult | null;
  if (!done) throw new Error('accumulateRowGrad did not call back');
  return { loss: done.loss, sums: done.sums };
}

export function createKtoObjective(
  model: Model,
  o: KtoOptions,
  a: { train: KtoSource; eval?: KtoSource; padId: number; refModel?: Model | null },
): PreferenceObjective<KtoExample> {
  return {
    train: a.train,
    eval: a.eval,
    step: (rows, gradScale) => ktoForward(model, rows, o, { padId: a.padId, refModel: a.refModel, gradScale }),
    evaluate: (rows) => ktoForward(model, rows, o, { padId: a.padId, refModel: a.refModel, gradScale: null }),
    summarize: (sums) => summarizeKto(sums),
    tokens: (r) => r.example.inputIds.length + r.kl.inputIds.length,
  };
}
