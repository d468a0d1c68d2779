/**
 * Preference training's objective (stage dpo): LLaMA-Factory's CustomDPOTrainer (src/llamafactory/train/dpo/
 * trainer.py), which takes sigmoid / hinge / ipo from TRL's DPOTrainer.dpo_loss and computes orpo and simpo itself.
 *
 * A micro-batch of P pairs is ONE forward batch: the P chosen rows, then the P rejected rows (concatenated_forward).
 * Each row's log-probability of its labels is summed over the completion tokens; for ipo, orpo and simpo it is
 * divided by the row's labelled count (LLaMA-Factory's concatenated_forward, reference included). The loss is the
 * mean over pairs; everything here is a function of the 4P per-row numbers, so the gradient reaches the model as one
 * weight per row (Model.accumulateRowGrad).
 */
import type { PairExample, PairSource } from '../data/pairwise';
import type { Batch, DropoutCursor, Model } from '../model/types';
import { collate } from './batches';

export type { PairExample, PairSource };

export const PREF_LOSSES = ['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo'] as const;
export type PrefLoss = (typeof PREF_LOSSES)[number];

/** LLaMA-Factory's FinetuningArguments for stage dpo, with its defaults (PREF_DEFAULTS). */
export type PrefOptions = {
  beta: number;
  loss: PrefLoss;
  /** pref_ftx: weight of the SFT term -logp(chosen)/len added to every pair's loss. */
  ftx: number;
  simpoGamma: number;
  labelSmoothing: number;
};

export const PREF_DEFAULTS: Readonly<PrefOptions> = Object.freeze({
  beta: 0.1,
  loss: 'sigmoid',
  ftx: 0,
  simpoGamma: 0.5,
  labelSmoothing: 0,
});

/** A config's preference options, LLaMA-Factory's defaults where it sets none. */
export function prefOptionsOf(cfg: {
  pref_beta?: number;
  pref_loss?: PrefLoss;
  pref_ftx?: number;
  simpo_gamma?: number;
  dpo_label_smoothing?: number;
}): PrefOptions {
  return {
    beta: cfg.pref_beta ?? PREF_DEFAULTS.beta,
    loss: cfg.pref_loss ?? PREF_DEFAULTS.loss,
    ftx: cfg.pref_ftx ?? PREF_DEFAULTS.ftx,
    simpoGamma: cfg.simpo_gamma ?? PREF_DEFAULTS.simpoGamma,
    labelSmoothing: cfg.dpo_label_smoothing ?? PREF_DEFAULTS.labelSmoothing,
  };
}

/** orpo and simpo are reference-free (LLaMA-Factory's use_ref_model is false for them). */
export const usesReference = (loss: PrefLoss): boolean => loss !== 'orpo' && loss !== 'simpo';
/** ipo, orpo and simpo average the log-probabilities over the completion's tokens. */
export const averagesLogps = (loss: PrefLoss): boolean => loss === 'ipo' || loss === 'orpo' || loss === 'simpo';

/** TRL's metric names, averaged over the pairs of a batch. */
export type PrefMetrics = {
  'rewards/chosen': number;
  'rewards/rejected': number;
  'rewards/accuracies': number;
  'rewards/margins': number;
  'logps/chosen': number;
  'logps/rejected': number;
};
export const PREF_METRIC_NAMES = [
  'rewards/chosen',
  'rewards/rejected',
  'rewards/accuracies',
  'rewards/margins',
  'logps/chosen',
  'logps/rejected',
] as const;

export type PrefResult = {
  /** Mean loss over the pairs. */
  loss: number;
  metrics: PrefMetrics;
  /** d(mean loss)/d(policy chosen logp_i), d/d(rejected logp_i): of the (possibly averaged) log-probs. */
  dChosen: Float64Array;
  dRejected: Float64Array;
};

const logSigmoid = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * The loss of P pairs from their log-probs (already averaged where the loss type averages). ref: the reference's
 * (null for orpo/simpo). chosenLen: completion lengths of the chosen rows (pref_ftx divides the summed logp by it).
 */
export function preferenceLoss(
  o: PrefOptions,
  pc: Float64Array,
  pr: Float64Array,
  ref: { chosen: Float64Array; rejected: Float64Array } | null,
  chosenLen: Int32Array,
): PrefResult {
  const P = pc.length;
  const dChosen = new Float64Array(P);
  const dRejected = new Float64Array(P);
  const { beta } = o;
  let loss = 0;
  const m = { rc: 0, rr: 0, acc: 0, margin: 0, lc: 0, lr: 0 };
  for (let i = 0; i < P; i++) {
    let l: number;
    let gc: number;
    let gr: number;
    let rewC: number;
    let rewR: number;
    if (o.loss === 'orpo') {
      // odds_ratio_loss: log odds = (pc - pr) - (log1p(-e^pc) - log1p(-e^pr)); loss = -pc + beta * -logsigmoid(lo)
      const lo = pc[i] - pr[i] - (Math.log1p(-Math.exp(pc[i])) - Math.log1p(-Math.exp(pr[i])));
      l = -pc[i] - beta * logSigmoid(lo);
      const dLo = -beta * sigmoid(-lo);
      gc = -1 + dLo / -Math.expm1(pc[i]);
      gr = -dLo / -Math.expm1(pr[i]);
      rewC = beta * pc[i];
      rewR = beta * pr[i];
    } else if (o.loss === 'simpo') {
      // simpo_loss: -logsigmoid(beta * (pc - pr - gamma / beta))
      const z = beta * (pc[i] - pr[i] - o.simpoGamma / beta);
      l = -logSigmoid(z);
      const dz = -sigmoid(-z);
      gc = dz * beta;
      gr = -dz * beta;
      rewC = beta * pc[i];
      rewR = beta * pr[i];
    } else {
      if (!ref) throw new Error(`pref_loss ${o.loss} needs the reference log-probs`);
      const h = pc[i] - ref.chosen[i] - (pr[i] - ref.rejected[i]);
      let dh: number;
      if (o.loss === 'sigmoid') {
        const z = beta * h;
        const ls = o.labelSmoothing;
        l = -logSigmoid(z) * (1 - ls) - logSigmoid(-z) * ls;
        dh = beta * (-(1 - ls) * sigmoid(-z) + ls * sigmoid(z));
      } else if (o.loss === 'hinge') {
        // torch.relu(1 - beta * logits); relu'(0) = 0
        l = Math.max(0, 1 - beta * h);
        dh = 1 - beta * h > 0 ? -beta : 0;
      } else {
        // ipo: (logits - 1 / (2 * beta)) ** 2
        const e = h - 1 / (2 * beta);
        l = e * e;
        dh = 2 * e;
      }
      gc = dh;
      gr = -dh;
      rewC = beta * (pc[i] - ref.chosen[i]);
      rewR = beta * (pr[i] - ref.rejected[i]);
    }
    if (o.ftx > 1e-6) {
      // sft_loss = -chosen_logps_avg (already averaged for ipo/orpo/simpo, else summed / length)
      const div = averagesLogps(o.loss) ? 1 : Math.max(1, chosenLen[i]);
      l += (o.ftx * -pc[i]) / div;
      gc += -o.ftx / div;
    }
    loss += l;
    dChosen[i] = gc / P;
    dRejected[i] = gr / P;
    m.rc += rewC;
    m.rr += rewR;
    m.acc += rewC > rewR ? 1 : 0;
    m.margin += rewC - rewR;
    m.lc += pc[i];
    m.lr += pr[i];
  }
  return {
    loss: loss / P,
    metrics: {
      'rewards/chosen': m.rc / P,
      'rewards/rejected': m.rr / P,
      'rewards/accuracies': m.acc / P,
      'rewards/margins': m.margin / P,
      'logps/chosen': m.lc / P,
      'logps/rejected': m.lr / P,
    },
    dChosen,
    dRejected,
  };
}

/** The forward batch of P pairs: chosen rows 0..P-1, rejected rows P..2P-1, right-padded to one length. */
export function collatePairs(pairs: PairExample[], padId: number): Batch {
  return collate([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], padId);
}

/**
 * One micro-batch of preference training: the reference log-probs (LoRA: the policy with its adapters off; full:
 * refModel, a frozen copy; none for orpo/simpo), then the policy's forward, loss and backward. The gradient of
 * gradScale * mean loss is ACCUMULATED into the policy's parameters.
 */
export function preferenceStep(
  model: Model,
  pairs: PairExample[],
  o: PrefOptions,
  a: { padId: number; gradScale: number; dropout?: DropoutCursor | null | false; refModel?: Model | null },
): { loss: number; metrics: PrefMetrics } {
  const P = pairs.length;
  const batch = collatePairs(pairs, a.padId);
  const avg = averagesLogps(o.loss);
  const ref = referenceOf(model, batch, P, o, a.refModel);
  let result: PrefResult | null = null;
  model.accumulateRowGrad(
    batch,
    (r) => {
      const v = normalised(r.logps, r.counts, o.loss);
      result = preferenceLoss(o, v.subarray(0, P), v.subarray(P), ref, r.counts.subarray(0, P));
      const g = new Float64Array(2 * P);
      for (let i = 0; i < P; i++) {
        // d/d(summed logp) = d/d(averaged logp) / count where the loss averages
        g[i] = (a.gradScale * result.dChosen[i]) / (avg ? Math.max(1, r.counts[i]) : 1);
        g[P + i] = (a.gradScale * result.dRejected[i]) / (avg ? Math.max(1, r.counts[P + i]) : 1);
      }
      return g;
    },
    { dropout: a.dropout },
  );
  const res = result as PrefResult | null;
  if (!res) throw new Error('accumulateRowGrad did not call back');
  return { loss: res.loss, metrics: res.metrics };
}

/** Reference log-probs of a batch (null for orpo/simpo), normalised as the loss type wants. */
function referenceOf(
  model: Model,
  batch: Batch,
  P: number,
  o: PrefOptions,
  refModel: Model | null | undefined,
): { chosen: Float64Array; rejected: Float64Array } | null {
  if (!usesReference(o.loss)) return null;
  const r = refModel ? refModel.sequenceLogps(batch) : model.sequenceLogps(batch, { adapters: false });
  const v = normalised(r.logps, r.counts, o.loss);
  return { chosen: v.subarray(0, P), rejected: v.subarray(P) };
}

function normalised(logps: Float64Array, counts: Int32Array, loss: PrefLoss): Float64Array {
  const out = Float64Array.from(logps);
  if (averagesLogps(loss)) for (let b = 0; b < out.length; b++) out[b] /= Math.max(1, counts[b]);
  return out;
}

/** Evaluation of P pairs: no dropout, no gradients (DPOTrainer.prediction_step). */
export function preferenceEval(
  model: Model,
  pairs: PairExample[],
  o: PrefOptions,
  a: { padId: number; refModel?: Model | null },
): { loss: number; metrics: PrefMetrics } {
  const P = pairs.length;
  const batch = collatePairs(pairs, a.padId);
  const ref = referenceOf(model, batch, P, o, a.refModel);
  const r = model.sequenceLogps(batch);
  const v = normalised(r.logps, r.counts, o.loss);
  const res = preferenceLoss(o, v.subarray(0, P), v.subarray(P), ref, r.counts.subarray(0, P));
  return { loss: res.loss, metrics: res.metrics };
}

/**
 * What the training loop runs for stages dpo and kto in place of the token cross-entropy (LoopOptions.preference).
 * R is one training row (a pair, or a KTO example). Metrics travel as additive sums per micro-batch; summarize turns
 * the sums of the micro-batches since the last log into the logged values, as each trainer's log() does.
 */
export type PreferenceObjective<R = PairExample> = {
  train: { readonly length: number; at(i: number): R };
  eval?: { readonly length: number; at(i: number): R };
  /** One micro-batch: ACCUMULATES gradScale * d(mean loss); its loss and metric sums. */
  step(rows: R[], gradScale: number): { loss: number; sums: Record<string, number> };
  evaluate(rows: R[]): { loss: number; sums: Record<string, number> };
  summarize(sums: Record<string, number>, microBatches: number): Record<string, number>;
  /** Tokens of a row (ids of every sequence it runs). */
  tokens(row: R): number;
};

export function createPreferenceObjective(
  model: Model,
  o: PrefOptions,
  a: { train: PairSource; eval?: PairSource; padId: number; refModel?: Model | null },
): PreferenceObjective {
  const sums = (r: { loss: number; metrics: PrefMetrics }) => ({ loss: r.loss, sums: { ...r.metrics } });
  return {
    train: a.train,
    eval: a.eval,
    // CustomDPOTrainer.log: the mean of the metrics stored for every micro-batch since the last log
    summarize: (s, n) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v / n])),
    tokens: (p) => p.chosen.inputIds.length + p.rejected.inputIds.length,
    // CustomDPOTrainer(disable_dropout=True) zeroes every dropout of the model, lora_dropout included: no dropout.
    step: (pairs, gradScale) =>
      sums(preferenceStep(model, pairs, o, { padId: a.padId, gradScale, dropout: false, refModel: a.refModel })),
    evaluate: (pairs) => sums(preferenceEval(model, pairs, o, { padId: a.padId, refModel: a.refModel })),
  };
}
