/**
 * The whole model against golden values from an independent implementation of the same Hugging Face semantics:
 * test/golden/make_golden.py (plain PyTorch, float64; see its header for how to regenerate). Each fixture holds a
 * tiny random model, a padded batch, the logits, the summed loss, every LoRA gradient (adapter on, B non-zero) and
 * every full fine-tuning gradient (no adapter).
 *
 * Tolerance: |ours - ref| <= ATOL + RTOL * |ref| per element, with the reference in float64 and ours in float32.
 * Logits and loss: ATOL 1e-4, RTOL 1e-4 (loss: RTOL 1e-5 on a sum of about 100). Gradients: ATOL 1e-4, RTOL 1e-3 —
 * fp32 rounding through two layers of backward leaves errors around 1e-6..1e-5 here (the worst ratio is printed).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, createBackend } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { type Batch, createModel, type LoraSpec, parseModelConfig, type Weights } from '../src/model/index';
import { host } from './host';

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'golden');

const TOL = {
  logits: { atol: 1e-4, rtol: 1e-4 },
  loss: { atol: 0, rtol: 1e-5 },
  grad: { atol: 1e-4, rtol: 1e-3 },
};

type Manifest = {
  config: unknown;
  lora: LoraSpec;
  batch: { B: number; T: number; inputIds: number[]; labels: number[]; keyLen: number[] };
  lossSum: number;
  lossSumBase: number;
  nTokens: number;
  tensors: Record<string, { shape: number[]; offset: number }>;
};

function loadFixture(name: string) {
  const m = JSON.parse(readFileSync(join(HERE, `${name}.json`), 'utf8')) as Manifest;
  const bin = readFileSync(join(HERE, `${name}.bin`));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const get = (key: string) => {
    const t = m.tensors[key];
    if (!t) throw new Error(`fixture ${name} has no ${key}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    return { shape: t.shape, data: new Float32Array(buf, t.offset, n).slice() };
  };
  const group = (prefix: string): Map<string, { shape: number[]; data: Float32Array }> => {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const k of Object.keys(m.tensors)) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), get(k));
    return out;
  };
  const batch: Batch = {
    B: m.batch.B,
    T: m.batch.T,
    inputIds: Int32Array.from(m.batch.inputIds),
    labels: Int32Array.from(m.batch.labels),
    keyLen: Int32Array.from(m.batch.keyLen),
  };
  return { m, get, group, batch };
}

/** Worst |ours - ref| / (atol + rtol |ref|) over all elements; <= 1 passes. */
function worstRatio(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: { atol: number; rtol: number }): number {
  expect(ours.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.abs(ours[i] - ref[i]) / (tol.atol + tol.rtol * Math.abs(ref[i]));
    if (!(r <= worst)) worst = r; // NaN propagates as a failure
  }
  return worst;
}

function backends(): { name: string; be: Backend | null }[] {
  const out: { name: string; be: Backend | null }[] = [{ name: 'reference', be: createBackend('reference') }];
  let cpu: Backend | null = null;
  try {
    cpu = createBackend('cpu');
  } catch {
    cpu = null; // the native addon is not built on this machine: its case is skipped, not passed
  }
  out.push({ name: 'cpu', be: cpu });
  return out;
}

describe.each(['qwen2_tied_bias', 'llama_untied_gqa4'])('golden %s', (name) => {
  for (const { name: beName, be } of backends()) {
    it.skipIf(!be)(`${beName}: logits, loss and LoRA gradients`, () => {
      const { m, get, group, batch } = loadFixture(name);
      const config = parseModelConfig(m.config);
      const weights: Weights = group('weight/');
      const model = createModel({ config, weights, backend: be as Backend, finetuning: 'lora', lora: m.lora, seed: 0 });
      model.loadLoraState(group('lora/'));

      const refLogits = get('logits').data;
      const V = config.vocabSize;
      let worstLogits = 0;
      for (let b = 0; b < batch.B; b++) {
        const len = batch.keyLen[b];
        const ids = batch.inputIds.subarray(b * batch.T, b * batch.T + len);
        const ours = model.logits(ids);
        const ref = refLogits.subarray(b * batch.T * V, (b * batch.T + len) * V);
        worstLogits = Math.max(worstLogits, worstRatio(ours, ref, TOL.logits));
      }

      const ev = model.loss(batch);
      expect(ev.nTokens).toBe(m.nTokens);
      expect(worstRatio([ev.lossSum], [m.lossSum], TOL.loss)).toBeLessThanOrEqual(1);

      for (const p of model.trainableParams()) (be as Backend).fill(p.grad, 0);
      const tr = model.lossAndGrad(batch, 1);
      expect(worstRatio([tr.lossSum], [m.lossSum], TOL.loss)).toBeLessThanOrEqual(1);
      const refGrads = group('lora_grad/');
      expect(refGrads.size).toBe(model.trainableParams().length);
      let worstGrad = 0;
      let worstName = '';
      for (const p of model.trainableParams()) {
        const ref = refGrads.get(p.name);
        if (!ref) throw new Error(`no reference gradient for ${p.name}`);
        const r = worstRatio(host(be as Backend, p.grad), ref.data, TOL.grad);
        if (r > worstGrad) [worstGrad, worstName] = [r, p.name];
      }
      console.log(
        `${name} ${beName} lora: worst ratio logits ${worstLogits.toFixed(3)}, grads ${worstGrad.toFixed(3)} (${worstName})`,
      );
      expect(worstLogits).toBeLessThanOrEqual(1);
      expect(worstGrad).toBeLessThanOrEqual(1);
    });

    it.skipIf(!be)(`${beName}: full fine-tuning loss and every weight gradient`, () => {
      const { m, group, batch, get } = loadFixture(name);
      const config = parseModelConfig(m.config);
      const model = createModel({
        config,
        weights: group('weight/'),
        backend: be as Backend,
        finetuning: 'full',
        seed: 0,
      });
      const ids = batch.inputIds.subarray(0, batch.T);
      const worstLogits = worstRatio(
        model.logits(ids),
        get('logits_base').data.subarray(0, batch.T * config.vocabSize),
        TOL.logits,
      );
      for (const p of model.trainableParams()) (be as Backend).fill(p.grad, 0);
      const tr = model.lossAndGrad(batch, 1);
      expect(tr.nTokens).toBe(m.nTokens);
      expect(worstRatio([tr.lossSum], [m.lossSumBase], TOL.loss)).toBeLessThanOrEqual(1);
      const refGrads = group('full_grad/');
      expect(refGrads.size).toBe(model.trainableParams().length);
      let worstGrad = 0;
      let worstName = '';
      for (const p of model.trainableParams()) {
        const ref = refGrads.get(p.name);
        if (!ref) throw new Error(`no reference gradient for ${p.name}`);
        const r = worstRatio(host(be as Backend, p.grad), ref.data, TOL.grad);
        if (r > worstGrad) [worstGrad, worstName] = [r, p.name];
      }
      console.log(
        `${name} ${beName} full: worst ratio logits ${worstLogits.toFixed(3)}, grads ${worstGrad.toFixed(3)} (${worstName})`,
      );
      expect(worstLogits).toBeLessThanOrEqual(1);
      expect(worstGrad).toBeLessThanOrEqual(1);
    });
  }
});
