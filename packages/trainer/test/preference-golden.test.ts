/**
 * Preference training (stage dpo) against test/golden/make_dpo_golden.py: LLaMA-Factory's CustomDPOTrainer
 * semantics on a tiny random Qwen2 with LoRA (float64 PyTorch; sigmoid / hinge / ipo also through TRL's own
 * DPOTrainer.dpo_loss when the script ran with TRL, see the manifest's generator line), 2 pairs in one batch.
 *
 * For every pref_loss: step 1's loss, the six TRL metrics and every LoRA gradient, then the losses of STEPS AdamW
 * steps and the adapter after them. Tolerances (ours float32, reference float64): loss and metrics
 * |d| <= 1e-4 + 1e-4 |ref| (log-probs are sums of ~10 fp32 log-softmax values); gradients 1e-4 + 1e-3 |ref| as in
 * model-golden.test.ts; the adapter after 3 steps 1e-5 + 1e-4 |ref| (AdamW's first steps move each weight by
 * about lr, so this checks the direction of every update, not only its size).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { createModel, type LoraSpec, parseModelConfig } from '../src/model/index';
import { createKtoObjective } from '../src/train/kto';
import { createAdamW } from '../src/train/optimizer';
import {
  createPreferenceObjective,
  type PairExample,
  PREF_DEFAULTS,
  PREF_METRIC_NAMES,
  type PrefLoss,
  type PrefOptions,
  preferenceLoss,
} from '../src/train/preference';
import { host } from './host';

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const TOL = {
  scalar: { atol: 1e-4, rtol: 1e-4 },
  grad: { atol: 1e-4, rtol: 1e-3 },
  after: { atol: 1e-5, rtol: 1e-4 },
};

type Spec = { name: string; loss?: PrefLoss; beta: number; ftx: number; label_smoothing: number; simpo_gamma?: number };
type Manifest = {
  config: unknown;
  lora: LoraSpec;
  batch: { B: number; T: number; inputIds: number[]; labels: number[]; keyLen: number[] };
  steps: number;
  lr: number;
  losses: Record<string, { spec: Spec; steps: Record<string, number>[] }>;
  kto: {
    batch: Manifest['batch'];
    kl: Manifest['batch'];
    tags: boolean[];
    cases: Record<
      string,
      {
        spec: { name: string; beta: number; ftx: number; desirable_weight: number; undesirable_weight: number };
        steps: Record<string, number>[];
      }
    >;
  };
  tensors: Record<string, { shape: number[]; offset: number }>;
};

const m = JSON.parse(readFileSync(join(HERE, 'dpo_golden.json'), 'utf8')) as Manifest;
const bin = readFileSync(join(HERE, 'dpo_golden.bin'));
const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
const group = (prefix: string) => {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of Object.entries(m.tensors)) {
    if (!k.startsWith(prefix)) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    out.set(k.slice(prefix.length), { shape: t.shape, data: new Float32Array(buf, t.offset, n).slice() });
  }
  return out;
};

function worstRatio(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: { atol: number; rtol: number }): number {
  expect(ours.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.abs(ours[i] - ref[i]) / (tol.atol + tol.rtol * Math.abs(ref[i]));
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

/** The golden batch back as pairs (rows 0..P-1 chosen, P..2P-1 rejected), each row cut to its length. */
function pairs(): PairExample[] {
  const { B, T, inputIds, labels, keyLen } = m.batch;
  const P = B / 2;
  const row = (r: number) => ({
    inputIds: inputIds.slice(r * T, r * T + keyLen[r]),
    labels: labels.slice(r * T, r * T + keyLen[r]),
  });
  return Array.from({ length: P }, (_, i) => ({ chosen: row(i), rejected: row(P + i) }));
}

const optionsOf = (s: Spec): PrefOptions => ({
  ...PREF_DEFAULTS,
  loss: s.loss ?? (s.name as PrefLoss),
  beta: s.beta,
  ftx: s.ftx,
  labelSmoothing: s.label_smoothing,
  simpoGamma: s.simpo_gamma ?? PREF_DEFAULTS.simpoGamma,
});

function backends(): { name: string; be: Backend | null; checkpointing?: boolean; loraDropout?: number }[] {
  let cpu: Backend | null = null;
  try {
    cpu = createBackend('cpu');
  } catch {
    cpu = null; // no native addon here: the case is skipped, not passed
  }
  return [
    { name: 'reference', be: createBackend('reference') },
    { name: 'cpu', be: cpu },
    // recomputing layers in backward must replay the same forward the row weights were computed from
    { name: 'cpu, gradient checkpointing', be: cpu, checkpointing: true },
    // LLaMA-Factory's CustomDPOTrainer disables dropout in the model: lora_dropout must change nothing
    { name: 'cpu, lora_dropout 0.3 (disabled)', be: cpu, loraDropout: 0.3 },
  ];
}

describe.each(Object.keys(m.losses))('pref_loss golden %s', (lossName) => {
  const { spec, steps } = m.losses[lossName];
  const o = optionsOf(spec);
  for (const { name: beName, be, checkpointing, loraDropout } of backends()) {
    it.skipIf(!be)(`${beName}: loss, metrics, LoRA gradients, ${m.steps} AdamW steps`, () => {
      const backend = be as Backend;
      const model = createModel({
        config: parseModelConfig(m.config),
        weights: group('weight/'),
        backend,
        finetuning: 'lora',
        lora: { ...m.lora, dropout: loraDropout ?? 0 },
        seed: 0,
        gradientCheckpointing: checkpointing ?? false,
      });
      model.loadLoraState(group('lora/'));
      const params = model.trainableParams();
      const opt = createAdamW(backend, params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 });
      const refGrad = group(`${lossName}/grad/`);
      for (let s = 0; s < m.steps; s++) {
        opt.zeroGrad();
        // the loop's path: the objective it is given (no dropout), one micro-batch of both pairs
        const objective = createPreferenceObjective(model, o, { train: { length: 0, at: () => pairs()[0] }, padId: 0 });
        const step = objective.step(pairs(), 1);
        const r = { loss: step.loss, metrics: objective.summarize(step.sums, 1) };
        expect(worstRatio([r.loss], [steps[s].loss], TOL.scalar), `step ${s + 1} loss`).toBeLessThanOrEqual(1);
        for (const k of PREF_METRIC_NAMES) {
          expect(worstRatio([r.metrics[k]], [steps[s][k]], TOL.scalar), `step ${s + 1} ${k}`).toBeLessThanOrEqual(1);
        }
        if (s === 0) {
          let worst = 0;
          for (const p of params) {
            const ref = refGrad.get(p.name);
            if (!ref) throw new Error(`no reference gradient for ${p.name}`);
            worst = Math.max(worst, worstRatio(host(backend, p.grad), ref.data, TOL.grad));
          }
          expect(worst, 'LoRA gradients of step 1').toBeLessThanOrEqual(1);
        }
        opt.stepWithNorm(m.lr, 0);
      }
      const after = group(`${lossName}/lora_after/`);
      let worst = 0;
      for (const p of params) {
        const ref = after.get(p.name);
        if (!ref) throw new Error(`no reference adapter for ${p.name}`);
        worst = Math.max(worst, worstRatio(host(backend, p.data), ref.data, TOL.after));
      }
      expect(worst, `adapter after ${m.steps} steps`).toBeLessThanOrEqual(1);
    });
  }
});

describe('preferenceLoss', () => {
  it('reports a clear error when a reference-based loss gets no reference', () => {
    expect(() =>
      preferenceLoss({ ...PREF_DEFAULTS }, Float64Array.of(-1), Float64Array.of(-2), null, Int32Array.of(1)),
    ).toThrow(/reference/);
  });
  it('hinge has no gradient once the margin passes 1/beta', () => {
    const r = preferenceLoss(
      { ...PREF_DEFAULTS, loss: 'hinge', beta: 1 },
      Float64Array.of(-1),
      Float64Array.of(-5),
      { chosen: Float64Array.of(-2), rejected: Float64Array.of(-2) },
      Int32Array.of(3),
    );
    expect(r.loss).toBe(0);
    expect(r.dChosen[0]).toBe(0);
  });
});

/** Row r of a golden batch, cut to its length. */
const rowOf = (b: Manifest['batch'], r: number) => ({
  inputIds: b.inputIds.slice(r * b.T, r * b.T + b.keyLen[r]),
  labels: b.labels.slice(r * b.T, r * b.T + b.keyLen[r]),
});

// KTO (same model, 4 rows, their KL rows), TRL's kto_loss as LLaMA-Factory's CustomKTOTrainer calls it (the plain
// case also through TRL's own KTOTrainer._compute_loss when the script ran with TRL). Same tolerances as above.
describe.each(Object.keys(m.kto.cases))('kto golden %s', (caseName) => {
  const { spec, steps } = m.kto.cases[caseName];
  const rows = () =>
    m.kto.tags.map((desirable, r) => ({ example: rowOf(m.kto.batch, r), kl: rowOf(m.kto.kl, r), desirable }));
  for (const { name: beName, be, checkpointing, loraDropout } of backends()) {
    it.skipIf(!be)(`${beName}: loss, metrics, LoRA gradients, ${m.steps} AdamW steps`, () => {
      const backend = be as Backend;
      const model = createModel({
        config: parseModelConfig(m.config),
        weights: group('weight/'),
        backend,
        finetuning: 'lora',
        lora: { ...m.lora, dropout: loraDropout ?? 0 },
        seed: 0,
        gradientCheckpointing: checkpointing ?? false,
      });
      model.loadLoraState(group('lora/'));
      const params = model.trainableParams();
      const opt = createAdamW(backend, params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 });
      const objective = createKtoObjective(
        model,
        {
          beta: spec.beta,
          ftx: spec.ftx,
          desirableWeight: spec.desirable_weight,
          undesirableWeight: spec.undesirable_weight,
        },
        { train: { length: 0, at: () => rows()[0] }, padId: 0 },
      );
      const refGrad = group(`${caseName}/grad/`);
      for (let s = 0; s < m.steps; s++) {
        opt.zeroGrad();
        const r = objective.step(rows(), 1);
        const metrics = objective.summarize(r.sums, 1);
        expect(worstRatio([r.loss], [steps[s].loss], TOL.scalar), `step ${s + 1} loss`).toBeLessThanOrEqual(1);
        for (const k of [
          'rewards/chosen',
          'rewards/rejected',
          'rewards/margins',
          'logps/chosen',
          'logps/rejected',
          'kl',
        ]) {
          expect(worstRatio([metrics[k]], [steps[s][k]], TOL.scalar), `step ${s + 1} ${k}`).toBeLessThanOrEqual(1);
        }
        if (s === 0) {
          let worst = 0;
          for (const p of params) {
            const ref = refGrad.get(p.name);
            if (!ref) throw new Error(`no reference gradient for ${p.name}`);
            worst = Math.max(worst, worstRatio(host(backend, p.grad), ref.data, TOL.grad));
          }
          expect(worst, 'LoRA gradients of step 1').toBeLessThanOrEqual(1);
        }
        opt.stepWithNorm(m.lr, 0);
      }
      const after = group(`${caseName}/lora_after/`);
      let worst = 0;
      for (const p of params) {
        const ref = after.get(p.name);
        if (!ref) throw new Error(`no reference adapter for ${p.name}`);
        worst = Math.max(worst, worstRatio(host(backend, p.data), ref.data, TOL.after));
      }
      expect(worst, `adapter after ${m.steps} steps`).toBeLessThanOrEqual(1);
    });
  }
});
