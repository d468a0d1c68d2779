/**
 * SFT packing (issue 17) against LLaMA-Factory and Transformers: test/golden/make_packing.py ran LLaMA-Factory's
 * own greedy_knapsack and its packing processor's index loop on fixed lengths, and the real Qwen2ForCausalLM (sdpa,
 * float64) with a PEFT LoRA adapter on rows packed as that processor packs them, the neat_packing mask made by
 * LLaMA-Factory's prepare_4d_attention_mask (see the script's header for how to regenerate).
 *
 * Tolerances, |ours - ref| <= atol + rtol |ref| per element:
 * - against the float64 golden: token losses atol 1e-4, rtol 1e-4; the loss sum rtol 1e-5; LoRA gradients
 *   atol 1e-4, rtol 1e-3 (as test/model-golden.test.ts: float32 rounding through two layers of backward).
 * - packed against one by one, both ours in float32: token losses atol 1e-5, rtol 1e-5 (the same arithmetic per
 *   example, except that the cpu kernels sum softmax and GEMM tiles over differently aligned key ranges: float32
 *   rounding of a few units in the last place); LoRA gradients atol 1e-5, rtol 1e-4 (a sum over five examples in
 *   another order). Plain packing must differ from one by one by more than 1e-3 on some token.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { greedyKnapsack, packExamples, packIndices } from '../src/data/packing';
import { type Batch, createModel, type Model, parseModelConfig, type Weights } from '../src/model/index';
import { collate } from '../src/train/batches';
import { host } from './host';

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const TOL = {
  token: { atol: 1e-4, rtol: 1e-4 },
  lossSum: { atol: 0, rtol: 1e-5 },
  grad: { atol: 1e-4, rtol: 1e-3 },
  selfToken: { atol: 1e-5, rtol: 1e-5 },
  selfGrad: { atol: 1e-5, rtol: 1e-4 },
};

type Golden = {
  bins: { cutoff_len: number; lengths: number[]; bins: number[][]; pads: number[] }[];
  model: string;
  cutoffLen: number;
  padId: number;
  examples: { input_ids: number[]; labels: number[] }[];
  packed: {
    B: number;
    T: number;
    bins: number[][];
    inputIds: number[][];
    labels: number[][];
    positionIds: number[][];
    segments: number[][];
  };
  neat: { tokenLosses: number[]; lossSum: number };
  plain: { tokenLosses: number[]; lossSum: number };
  tensors: Record<string, { shape: number[]; offset: number }>;
};

function readFixture(name: string) {
  const m = JSON.parse(readFileSync(join(HERE, `${name}.json`), 'utf8'));
  const bin = readFileSync(join(HERE, `${name}.bin`));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const group = (prefix: string) => {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of Object.entries(m.tensors as Record<string, { shape: number[]; offset: number }>)) {
      if (!k.startsWith(prefix)) continue;
      const n = t.shape.reduce((a, b) => a * b, 1);
      out.set(k.slice(prefix.length), { shape: t.shape, data: new Float32Array(buf, t.offset, n).slice() });
    }
    return out;
  };
  return { m, group };
}

const golden = readFixture('packing');
const g = golden.m as Golden;

/** Worst |ours - ref| / (atol + rtol |ref|); <= 1 passes. */
function worstRatio(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: { atol: number; rtol: number }): number {
  expect(ours.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.abs(ours[i] - ref[i]) / (tol.atol + tol.rtol * Math.abs(ref[i]));
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

describe('bins: LLaMA-Factory greedy_knapsack and its packing processor (golden)', () => {
  it('greedyKnapsack by hand: sorted 1 2 2 3 4 5 5 6 7 9 into bins of 9', () => {
    // largest that fits, until nothing does: [9] [7 2] [6 3] [5 4] [5 2 1]
    expect(greedyKnapsack([3, 7, 2, 9, 1, 5, 5, 4, 6, 2], 9)).toEqual([[9], [7, 2], [6, 3], [5, 4], [5, 2, 1]]);
    expect(greedyKnapsack([], 9)).toEqual([]);
    expect(() => greedyKnapsack([10], 9)).toThrow(RangeError);
  });

  for (const c of g.bins) {
    it(`cutoff_len ${c.cutoff_len}, ${c.lengths.length} lengths: the same examples in the same bins and order`, () => {
      // the processor packs with cutoff_len - 1 and pads every row to cutoff_len
      const { bins, dropped } = packIndices(c.lengths, c.cutoff_len - 1);
      expect(bins).toEqual(c.bins);
      expect(bins.map((b) => c.cutoff_len - b.reduce((a, i) => a + c.lengths[i], 0))).toEqual(c.pads);
      const kept = new Set(bins.flat());
      expect(dropped).toEqual(c.lengths.map((_, i) => i).filter((i) => !kept.has(i)));
    });
  }
});

function backends(): { name: string; be: Backend | null }[] {
  let cpu: Backend | null = null;
  try {
    cpu = createBackend('cpu');
  } catch {
    cpu = null; // the native addon is not built here: its case is skipped, not passed
  }
  return [
    { name: 'reference', be: createBackend('reference') },
    { name: 'cpu', be: cpu },
  ];
}

function goldenModel(be: Backend): Model {
  const { m, group } = readFixture(g.model);
  const model = createModel({
    config: parseModelConfig(m.config),
    weights: group('weight/') as Weights,
    backend: be,
    finetuning: 'lora',
    lora: m.lora,
    seed: 0,
  });
  model.loadLoraState(group('lora/'));
  return model;
}

const examples = g.examples.map((e) => ({ inputIds: e.input_ids, labels: e.labels }));

/** Each labelled token's loss (label coordinates): the batch with every other label masked. */
function tokenLosses(model: Model, batch: Batch): Float64Array {
  const out = new Float64Array(batch.B * batch.T);
  for (let i = 0; i < out.length; i++) {
    if (i % batch.T === 0 || batch.labels[i] === -100) continue;
    const labels = new Int32Array(batch.labels.length).fill(-100);
    labels[i] = batch.labels[i];
    out[i] = model.loss({ ...batch, labels }).lossSum;
  }
  return out;
}

/** The golden token losses [B, Tg] at our batch's [B, T] positions (T <= Tg: we pad only to the longest row). */
function atOurPositions(ref: number[], batch: Batch): Float64Array {
  const out = new Float64Array(batch.B * batch.T);
  for (let b = 0; b < batch.B; b++) for (let t = 0; t < batch.T; t++) out[b * batch.T + t] = ref[b * g.packed.T + t];
  return out;
}

function grads(be: Backend, model: Model): Map<string, Float32Array> {
  return new Map(model.trainableParams().map((p) => [p.name, host(be, p.grad).slice()]));
}

function zeroGrads(be: Backend, model: Model): void {
  for (const p of model.trainableParams()) be.fill(p.grad, 0);
}

function worstGrad(ours: Map<string, Float32Array>, ref: Map<string, Float32Array>, tol: typeof TOL.grad): number {
  expect([...ours.keys()].sort()).toEqual([...ref.keys()].sort());
  let worst = 0;
  for (const [k, v] of ours) worst = Math.max(worst, worstRatio(v, ref.get(k) as Float32Array, tol));
  return worst;
}

describe('packed rows', () => {
  it('packExamples builds the rows LLaMA-Factory builds (ids, labels, example lengths), without its padding', () => {
    const warnings: string[] = [];
    const packed = packExamples(examples, g.cutoffLen - 1, (m) => warnings.push(m));
    expect(packed.map((p) => Array.from(p.segments ?? []))).toEqual(g.packed.segments);
    packed.forEach((p, b) => {
      const n = p.inputIds.length;
      expect(Array.from(p.inputIds)).toEqual(g.packed.inputIds[b].slice(0, n));
      expect(Array.from(p.labels)).toEqual(g.packed.labels[b].slice(0, n));
      // what is left of a golden row is padding: no labels
      expect(g.packed.labels[b].slice(n).every((y) => y === -100)).toBe(true);
      // collate gives the position ids LLaMA-Factory gives
      const batch = collate([p], g.padId, true);
      expect(Array.from(batch.pos ?? [])).toEqual(g.packed.positionIds[b].slice(0, n));
    });
    expect(warnings).toEqual([]);
    // an example longer than the cutoff is dropped with LLaMA-Factory's warning
    packExamples([{ inputIds: [1, 2, 3], labels: [1, 2, 3] }], 2, (m) => warnings.push(m));
    expect(warnings).toEqual(['Dropped lengthy example with length 3 > 2.']);
  });

  for (const { name, be } of backends()) {
    describe.skipIf(!be)(`${name} backend`, () => {
      const backend = be as Backend;
      const packed = packExamples(examples, g.cutoffLen - 1, () => {});

      for (const mode of ['neat', 'plain'] as const) {
        it(`${mode} packing: token losses, loss sum and LoRA gradients match Transformers + LLaMA-Factory`, () => {
          const model = goldenModel(backend);
          const batch = collate(packed, g.padId, mode === 'neat');
          expect(batch.segStart !== undefined).toBe(mode === 'neat');
          const ref = g[mode];
          const wToken = worstRatio(tokenLosses(model, batch), atOurPositions(ref.tokenLosses, batch), TOL.token);
          zeroGrads(backend, model);
          const r = model.lossAndGrad(batch, 1);
          const wGrad = worstGrad(
            grads(backend, model),
            new Map([...golden.group(`${mode}/`)].map(([k, t]) => [k, t.data])),
            TOL.grad,
          );
          console.log(`${name} ${mode}: worst ratio token losses ${wToken.toFixed(3)}, LoRA grads ${wGrad.toFixed(3)}`);
          expect(worstRatio([r.lossSum], [ref.lossSum], TOL.lossSum)).toBeLessThanOrEqual(1);
          expect(wToken).toBeLessThanOrEqual(1);
          expect(wGrad).toBeLessThanOrEqual(1);
        });
      }

      it('neat packing equals the examples one by one (token losses and summed LoRA gradients); plain does not', () => {
        const model = goldenModel(backend);
        // one by one: each example its own batch; gradients accumulate into the sum over examples
        zeroGrads(backend, model);
        const alone = examples.map((e) => {
          const batch = collate([e], g.padId);
          model.lossAndGrad(batch, 1);
          return tokenLosses(model, batch);
        });
        const aloneGrads = grads(backend, model);
        // the same tokens in the packed rows, by the bins' order
        const expected = (batch: Batch) => {
          const out = new Float64Array(batch.B * batch.T);
          g.packed.bins.forEach((bin, b) => {
            let at = 0;
            for (const i of bin) {
              alone[i].forEach((v, t) => {
                out[b * batch.T + at + t] = v;
              });
              at += examples[i].inputIds.length;
            }
          });
          return out;
        };
        const neat = collate(packed, g.padId, true);
        const neatLosses = tokenLosses(model, neat);
        const wToken = worstRatio(neatLosses, expected(neat), TOL.selfToken);
        zeroGrads(backend, model);
        model.lossAndGrad(neat, 1);
        const wGrad = worstGrad(grads(backend, model), aloneGrads, TOL.selfGrad);
        console.log(
          `${name} neat vs one by one: worst ratio token losses ${wToken.toFixed(3)}, grads ${wGrad.toFixed(3)}`,
        );
        expect(wToken).toBeLessThanOrEqual(1);
        expect(wGrad).toBeLessThanOrEqual(1);

        const plain = collate(packed, g.padId, false);
        const plainLosses = tokenLosses(model, plain);
        const want = expected(plain);
        const gap = Math.max(...plainLosses.map((v, i) => Math.abs(v - want[i])));
        expect(gap).toBeGreaterThan(1e-3);
        // the first example of each row sees only itself either way
        g.packed.bins.forEach((bin, b) => {
          const n = examples[bin[0]].inputIds.length;
          for (let t = 1; t < n; t++) {
            expect(Math.abs(plainLosses[b * plain.T + t] - neatLosses[b * neat.T + t])).toBeLessThanOrEqual(1e-5);
          }
        });
      });
    });
  }
});
