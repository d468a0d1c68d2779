// A bigram language model with hand-written forward/backward, used to test the loop's mechanics (batching,
// accumulation, logging, checkpoints) in milliseconds. The real Qwen2 model is exercised by the e2e tests.
// Its parameters live on the backend like a real model's: each call downloads them, computes on the host, adds its
// gradient with one axpy and writes its loss into the loop's device scalar.
import { type Backend, dropoutBits, dropThreshold, referenceBackend, splitScalar } from '@crucible/tensor';
import type { AccumulateOptions, Batch, DropoutCursor, LossResult, Param } from '../src/model/types';

export function createBigram(V: number, seed = 1, dropout = 0, be: Backend = referenceBackend) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const param = (name: string, shape: number[], init: Float32Array, decay: boolean): Param => {
    const data = be.alloc(shape);
    be.upload(data, init);
    return { name, shape, data, grad: be.alloc(shape), decay };
  };
  const W = param(
    'bigram.weight',
    [V, V],
    Float32Array.from({ length: V * V }, () => (rand() - 0.5) * 0.2),
    true,
  );
  const b = param('bigram.bias', [V], new Float32Array(V), false);
  const tmpW = be.alloc([V, V]);
  const tmpB = be.alloc([V]);
  const run = (batch: Batch, gradScale: number, train: boolean, cursor?: DropoutCursor): LossResult => {
    const Wd = be.download(W.data) as Float32Array;
    const bd = be.download(b.data) as Float32Array;
    const dW = new Float32Array(V * V);
    const db = new Float32Array(V);
    const thr = dropThreshold(dropout);
    let lossSum = 0;
    let nTokens = 0;
    const logits = new Float64Array(V);
    const mask = new Float64Array(V);
    for (let r = 0; r < batch.B; r++) {
      for (let t = 0; t + 1 < batch.T; t++) {
        const y = batch.labels[r * batch.T + t + 1];
        if (y === -100) continue;
        const x = batch.inputIds[r * batch.T + t];
        let mx = -Infinity;
        for (let j = 0; j < V; j++) {
          // The counter-based dropout stream the real model draws from (one counter per masked element).
          const c = cursor && train && dropout > 0 ? cursor.offset++ : -1;
          mask[j] = c >= 0 ? (dropoutBits(cursor?.seed ?? 0, c) < thr ? 0 : 1 / (1 - dropout)) : 1;
          logits[j] = Wd[x * V + j] * mask[j] + bd[j];
          mx = Math.max(mx, logits[j]);
        }
        let z = 0;
        for (let j = 0; j < V; j++) z += Math.exp(logits[j] - mx);
        lossSum += -(logits[y] - mx - Math.log(z));
        nTokens++;
        if (!train) continue;
        for (let j = 0; j < V; j++) {
          const d = (Math.exp(logits[j] - mx) / z - (j === y ? 1 : 0)) * gradScale;
          dW[x * V + j] += d * mask[j];
          db[j] += d;
        }
      }
    }
    if (train) {
      be.upload(tmpW, dW);
      be.axpy(W.grad, 1, tmpW, V * V);
      be.upload(tmpB, db);
      be.axpy(b.grad, 1, tmpB, V);
    }
    return { lossSum, nTokens };
  };
  const own: DropoutCursor = { seed: seed ^ 0x77, offset: 0 };
  return {
    backend: be,
    trainableParams: () => [W, b],
    accumulateGrad: (batch: Batch, gradScale: number, o: AccumulateOptions) => {
      const r = run(batch, gradScale, true, o.dropout ?? own);
      be.upload(o.lossOut, splitScalar(r.lossSum));
      return { nTokens: r.nTokens };
    },
    lossAndGrad: (batch: Batch, gradScale: number, cursor?: DropoutCursor) =>
      run(batch, gradScale, true, cursor ?? own),
    loss: (batch: Batch) => run(batch, 0, false),
  };
}

/** Sequences over a tiny vocabulary with a learnable pattern (next = (cur * 3 + 1) % V) and a masked prompt. */
export function patternData(n: number, V: number, seed = 3) {
  let s = seed;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  return Array.from({ length: n }, () => {
    const len = 4 + Math.floor(rand() * 7);
    const ids = [Math.floor(rand() * V)];
    while (ids.length < len) ids.push((ids[ids.length - 1] * 3 + 1) % V);
    const prompt = 1 + Math.floor(rand() * 2);
    return { inputIds: ids, labels: ids.map((x, i) => (i < prompt ? -100 : x)) };
  });
}
