// A bigram language model with hand-written forward/backward, used to test the loop's mechanics (batching,
// accumulation, logging, checkpoints) in milliseconds. The real Qwen2 model is exercised by the e2e tests.
import type { Batch, LossResult, Param } from '../src/model/types';

export function createBigram(V: number, seed = 1, dropout = 0) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const W: Param = {
    name: 'bigram.weight',
    shape: [V, V],
    data: Float32Array.from({ length: V * V }, () => (rand() - 0.5) * 0.2),
    grad: new Float32Array(V * V),
    decay: true,
  };
  const b: Param = {
    name: 'bigram.bias',
    shape: [V],
    data: new Float32Array(V),
    grad: new Float32Array(V),
    decay: false,
  };
  const run = (batch: Batch, gradScale: number, train: boolean, rng?: () => number): LossResult => {
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
          mask[j] = train && dropout > 0 ? ((rng ?? Math.random)() < dropout ? 0 : 1 / (1 - dropout)) : 1;
          logits[j] = W.data[x * V + j] * mask[j] + b.data[j];
          mx = Math.max(mx, logits[j]);
        }
        let z = 0;
        for (let j = 0; j < V; j++) z += Math.exp(logits[j] - mx);
        lossSum += -(logits[y] - mx - Math.log(z));
        nTokens++;
        if (!train) continue;
        for (let j = 0; j < V; j++) {
          const d = (Math.exp(logits[j] - mx) / z - (j === y ? 1 : 0)) * gradScale;
          W.grad[x * V + j] += d * mask[j];
          b.grad[j] += d;
        }
      }
    }
    return { lossSum, nTokens };
  };
  return {
    trainableParams: () => [W, b],
    lossAndGrad: (batch: Batch, gradScale: number, rng?: () => number) => run(batch, gradScale, true, rng),
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
