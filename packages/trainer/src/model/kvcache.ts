import type { Backend } from '@crucible/tensor';
import { type Acts, buildActs } from './acts';
import { ModelError } from './errors';
import { attnInputForward, attnOutputAndMlpForward, type Dims, type Layer } from './layers';
import type { KvCache } from './types';

type F32 = Float32Array;

/**
 * Incremental decoding with a KV cache: a prompt is prefilled with the ordinary batched forward (its post-RoPE keys
 * and values copied into the cache), then each new token runs the layers for one position against the cache.
 * The cache is head-major [Hkv, maxLen, D] so that one kv head's keys are a contiguous matrix and single-query
 * attention is two backend matmuls per kv head: scores = q_g K_g^T / sqrt(D) for the Hq/Hkv query heads that share
 * it, then P V_g. Only the softmax over one row of scores runs in TS: O(Hq * T) per layer and token, which the
 * backend has no op for and which is small beside the projections.
 */
export function createDecoder(m: {
  be: Backend;
  d: Dims;
  V: number;
  layers: Layer[];
  embed: F32;
  finalNorm: F32;
  lmHead: F32;
  forwardSequence: (ids: Int32Array) => Acts;
  checkIds: (ids: ArrayLike<number>, what: string) => void;
}) {
  const { be, d, V, layers } = m;
  const { C, Hq, Hkv, D } = d;
  const kvSize = Hkv * D;
  const rep = Hq / Hkv;
  const attnScale = 1 / Math.sqrt(D);
  const one = buildActs(1, { C, I: d.I, Hq, Hkv, D }, layers, false, {
    f32: (p) => new Float32Array(p),
    u8: (p) => new Uint8Array(p),
    i32: (p) => new Int32Array(p),
  });
  const id1 = new Int32Array(1);
  const logits = new Float32Array(V);

  const createKvCache = (maxLen: number): KvCache => {
    if (!(Number.isInteger(maxLen) && maxLen > 0))
      throw new ModelError('INPUT_INVALID', `KV cache length must be a positive integer, got ${maxLen}.`);
    return {
      maxLen,
      len: 0,
      k: layers.map(() => new Float32Array(Hkv * maxLen * D)),
      v: layers.map(() => new Float32Array(Hkv * maxLen * D)),
      scores: new Float32Array(Hq * maxLen),
    };
  };

  /** Copies token rows [T, Hkv, D] into the cache at positions p0.. (layout change only, no arithmetic). */
  const store = (cache: KvCache, l: number, k: F32, v: F32, T: number, p0: number): void => {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < Hkv; h++) {
        const src = t * kvSize + h * D;
        const dst = (h * cache.maxLen + p0 + t) * D;
        cache.k[l].set(k.subarray(src, src + D), dst);
        cache.v[l].set(v.subarray(src, src + D), dst);
      }
    }
  };

  const lastLogits = (hN: F32, row: number): F32 => {
    be.matmul(logits, hN.subarray(row * C, (row + 1) * C), m.lmHead, 1, V, C, { transB: true });
    return logits;
  };

  const prefill = (ids: Int32Array, cache: KvCache): F32 => {
    const a = m.forwardSequence(ids);
    const T = ids.length;
    for (let l = 0; l < layers.length; l++) store(cache, l, a.layers[l].k, a.layers[l].v, T, 0);
    cache.len = T;
    return lastLogits(a.hN, T - 1);
  };

  const step = (id: number, cache: KvCache): F32 => {
    const p = cache.len;
    const Tk = p + 1;
    id1[0] = id;
    one.pos[0] = p;
    be.embeddingForward(one.res[0], m.embed, id1, 1, C);
    for (let l = 0; l < layers.length; l++) {
      const a = one.layers[l];
      attnInputForward(be, d, layers[l], a, 1, one.pos, null);
      store(cache, l, a.k, a.v, 1, p);
      for (let g = 0; g < Hkv; g++) {
        const base = g * cache.maxLen * D;
        const Kg = cache.k[l].subarray(base, base + Tk * D);
        const Vg = cache.v[l].subarray(base, base + Tk * D);
        const sc = cache.scores.subarray(0, rep * Tk);
        be.matmul(sc, a.q.subarray(g * rep * D, (g + 1) * rep * D), Kg, rep, Tk, D, { transB: true, alpha: attnScale });
        for (let r = 0; r < rep; r++) softmaxInPlace(sc, r * Tk, Tk);
        be.matmul(a.att.subarray(g * rep * D, (g + 1) * rep * D), sc, Vg, rep, D, Tk);
      }
      attnOutputAndMlpForward(be, d, layers[l], a, 1, null);
    }
    be.rmsnormForward(one.hN, one.rstdF, one.res[layers.length], m.finalNorm, 1, C, d.eps);
    cache.len = Tk;
    return lastLogits(one.hN, 0);
  };

  const forwardStep = (ids: ArrayLike<number>, cache: KvCache): F32 => {
    if (ids.length === 0) throw new ModelError('INPUT_INVALID', 'forwardStep needs at least one token.');
    if (cache.len + ids.length > cache.maxLen) {
      throw new ModelError(
        'INPUT_INVALID',
        `KV cache holds ${cache.maxLen} positions; ${cache.len} used, ${ids.length} more requested.`,
      );
    }
    m.checkIds(ids, 'ids');
    if (cache.len === 0 && ids.length > 1) return prefill(Int32Array.from(ids), cache);
    let out: F32 = logits;
    for (let i = 0; i < ids.length; i++) out = step(ids[i], cache);
    return out;
  };

  return { createKvCache, forwardStep };
}

function softmaxInPlace(x: F32, off: number, n: number): void {
  let max = -Infinity;
  for (let i = off; i < off + n; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = off; i < off + n; i++) {
    const e = Math.exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = off; i < off + n; i++) x[i] *= inv;
}
