/**
 * Gradient checkpointing recomputes each layer from its saved input in backward, with the dropout counters the
 * forward recorded, on the same kernels with the same shapes: so the loss and every gradient must equal the run
 * that keeps all activations BIT FOR BIT (no tolerance), with dropout off and on, for LoRA and full fine-tuning, on
 * the reference and the cpu backend. It must also hold less: one layer's buffers instead of all of them.
 */
import { type Backend, cpuAvailable, createBackend, type DType } from '@crucible/tensor';
import { describe, expect, it } from 'vitest';
import { type Batch, createModel, createRng, type ModelConfig, randomWeights } from '../src/model/index';
import { dropoutAt, edit, host } from './host';

const config: ModelConfig = {
  arch: 'qwen2',
  vocabSize: 80,
  hiddenSize: 32,
  intermediateSize: 56,
  numLayers: 3,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  attentionBias: true,
  maxPositionEmbeddings: 64,
};
const weights = randomWeights(config, { seed: 21, std: 0.2, normNoise: 0.1 });

function batch(): Batch {
  const rng = createRng(4);
  const B = 2;
  const T = 9;
  const keyLen = Int32Array.of(9, 6);
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    const pad = i % T >= keyLen[Math.floor(i / T)];
    inputIds[i] = pad ? 0 : Math.floor(rng() * 80);
    labels[i] = pad ? -100 : inputIds[i];
  }
  return { B, T, inputIds, labels, keyLen };
}

/** Counts the bytes a model allocates (activation pools included) through a wrapped backend. */
function counting(be: Backend): { be: Backend; bytes: () => number } {
  let bytes = 0;
  const size: Record<DType, number> = { f32: 4, bf16: 2, i32: 4 };
  return {
    be: {
      ...be,
      alloc(shape, dtype = 'f32') {
        bytes += shape.reduce((a, b) => a * b, 1) * size[dtype];
        return be.alloc(shape, dtype);
      },
    },
    bytes: () => bytes,
  };
}

const backends: [string, () => Backend][] = [['reference', () => createBackend('reference')]];
if (cpuAvailable()) backends.push(['cpu', () => createBackend('cpu')]);

describe.each(backends)('gradient checkpointing on %s', (_name, mk) => {
  const cases = [
    { label: 'LoRA, no dropout', finetuning: 'lora' as const, dropout: 0 },
    { label: 'LoRA, dropout 0.2', finetuning: 'lora' as const, dropout: 0.2 },
    { label: 'full fine-tuning', finetuning: 'full' as const, dropout: 0 },
  ];
  for (const c of cases) {
    it(`${c.label}: loss and every gradient equal the run without it, bit for bit`, () => {
      const run = (gradientCheckpointing: boolean) => {
        const counter = counting(mk());
        const m = createModel({
          config,
          weights,
          backend: counter.be,
          finetuning: c.finetuning,
          lora: { r: 4, alpha: 8, dropout: c.dropout, targets: ['all'] },
          seed: 5,
          gradientCheckpointing,
        });
        const be = counter.be;
        const rng = createRng(8);
        for (const p of m.trainableParams())
          if (p.name.includes('lora_B'))
            edit(be, p.data, (d) => {
              for (let i = 0; i < d.length; i++) d[i] = 0.2 * (rng() - 0.5);
            });
        const before = counter.bytes();
        const cursor = dropoutAt(99);
        const r1 = m.lossAndGrad(batch(), 0.5, cursor);
        const r2 = m.lossAndGrad(batch(), 0.25, cursor); // a second step continues the dropout stream
        return {
          losses: [r1.lossSum, r2.lossSum],
          offset: cursor.offset,
          grads: m.trainableParams().map((p) => host(be, p.grad)),
          activationBytes: counter.bytes() - before,
          layout: m.describe(),
        };
      };
      const kept = run(false);
      const recomputed = run(true);
      expect(recomputed.layout.gradientCheckpointing).toBe(true);
      expect(recomputed.losses).toEqual(kept.losses);
      expect(recomputed.offset).toBe(kept.offset);
      if (c.dropout > 0) expect(kept.offset).toBeGreaterThan(0);
      expect(recomputed.grads.length).toBe(kept.grads.length);
      kept.grads.forEach((g, i) => {
        const r = recomputed.grads[i];
        expect(
          Buffer.from(r.buffer, r.byteOffset, r.byteLength).equals(Buffer.from(g.buffer, g.byteOffset, g.byteLength)),
        ).toBe(true);
      });
      // Three layers: the checkpointed pool holds one layer's activations plus the residuals, well under all three.
      expect(recomputed.activationBytes).toBeLessThan(0.6 * kept.activationBytes);
    });
  }
});
