import type { Backend, DeviceTensor as DT } from '@crucible/tensor';
import { type Acts, buildActs, type LayerActs } from './acts';
import { ModelError } from './errors';
import { attnInputForward, attnOutputAndMlpForward, type Dims, type Layer } from './layers';
import type { KvCache } from './types';

/**
 * Incremental decoding with a KV cache on the backend: a prompt is prefilled with the ordinary batched forward (each
 * layer's post-RoPE keys and values copied into the cache as the layer finishes), then each new token runs the
 * layers for one position against the cache. The cache is head-major [Hkv, maxLen, D] so that one kv head's keys
 * are a contiguous matrix and single-query attention is two backend matmuls per kv head: scores = q_g K_g^T / sqrt(D)
 * for the Hq/Hkv query heads that share it, a softmax over each row, then P V_g. The only host transfers are the
 * token id going up and the logits of the last position coming down.
 */
export function createDecoder(m: {
  be: Backend;
  d: Dims;
  V: number;
  layers: Layer[];
  embed: DT;
  finalNorm: DT;
  lmHead: DT;
  forwardSequence: (ids: Int32Array, afterLayer?: (l: number, a: LayerActs) => void) => Acts;
  checkIds: (ids: ArrayLike<number>, what: string) => void;
  /**
   * The sliding window (Mistral's layers, Gemma's sliding layers: Layer.sliding): a new token attends to the last
   * `window` positions (itself included); 0 = all.
   */
  window: number;
  /** Gemma: the embedding output is multiplied by it (0 = not). */
  embedScale: number;
  /** Gemma 2: logits soft-capped at it (0 = not). */
  finalCap: number;
}) {
  const { be, d, V, layers } = m;
  const { C, Hq, Hkv, D } = d;
  const kvSize = Hkv * D;
  const rep = Hq / Hkv;
  const attnScale = 1 / Math.sqrt(D);
  const one = buildActs(
    1,
    {
      C,
      I: d.I,
      Hq,
      Hkv,
      D,
      qkNorm: layers.some((l) => l.qNorm !== null),
      outNorms: layers.some((l) => l.attnOutNorm !== null),
    },
    layers,
    { training: false, checkpointing: true },
    {
      perToken: (p, dtype) => be.alloc([p], dtype),
      fixed: (n, dtype) => be.alloc([n], dtype),
    },
  );
  const logits = be.alloc([V]);

  const createKvCache = (maxLen: number): KvCache => {
    if (!(Number.isInteger(maxLen) && maxLen > 0))
      throw new ModelError('INPUT_INVALID', `KV cache length must be a positive integer, got ${maxLen}.`);
    return {
      maxLen,
      len: 0,
      k: layers.map(() => be.alloc([Hkv, maxLen, D])),
      v: layers.map(() => be.alloc([Hkv, maxLen, D])),
      scores: be.alloc([Hq, maxLen]),
    };
  };

  /** Copies token rows [T, Hkv, D] into the cache at positions p0.. (a layout change: one block copy per head). */
  const store = (cache: KvCache, l: number, k: DT, v: DT, T: number, p0: number): void => {
    for (let h = 0; h < Hkv; h++) {
      const dst = (h * cache.maxLen + p0) * D;
      const n = (T - 1) * D + D;
      be.copy2d(be.view(cache.k[l], dst, [n]), be.view(k, h * D, [(T - 1) * kvSize + D]), T, D, D, kvSize);
      be.copy2d(be.view(cache.v[l], dst, [n]), be.view(v, h * D, [(T - 1) * kvSize + D]), T, D, D, kvSize);
    }
  };

  const lastLogits = (hN: DT, row: number): Float32Array => {
    be.matmul(logits, be.view(hN, row * C, [C]), m.lmHead, 1, V, C, { transB: true });
    if (m.finalCap) be.softcap(logits, m.finalCap, V);
    return be.download(logits) as Float32Array;
  };

  const prefill = (ids: Int32Array, cache: KvCache): Float32Array => {
    const T = ids.length;
    const a = m.forwardSequence(ids, (l, la) => store(cache, l, la.k, la.v, T, 0));
    cache.len = T;
    return lastLogits(a.hN, T - 1);
  };

  const step = (id: number, cache: KvCache, wantLogits: boolean): Float32Array | null => {
    const p = cache.len;
    be.upload(one.ids, Int32Array.of(id));
    be.upload(one.pos, Int32Array.of(p));
    be.embeddingForward(one.res[0], m.embed, one.ids, 1, C);
    if (m.embedScale) be.scale(one.res[0], m.embedScale, C);
    for (let l = 0; l < layers.length; l++) {
      const a = one.layers[l];
      // Keys first..p are visible: all of them, or the last `window` on a sliding layer.
      const first = layers[l].sliding && m.window > 0 ? Math.max(0, p + 1 - m.window) : 0;
      const Tk = p + 1 - first;
      attnInputForward(be, d, layers[l], a, 1, one.pos, null, null);
      store(cache, l, a.k, a.v, 1, p);
      for (let g = 0; g < Hkv; g++) {
        const base = (g * cache.maxLen + first) * D;
        const Kg = be.view(cache.k[l], base, [Tk * D]);
        const Vg = be.view(cache.v[l], base, [Tk * D]);
        const sc = be.view(cache.scores, 0, [rep * Tk]);
        be.matmul(sc, be.view(a.q, g * rep * D, [rep * D]), Kg, rep, Tk, D, { transB: true, alpha: attnScale });
        if (d.attnSoftcap) be.softcap(sc, d.attnSoftcap, rep * Tk);
        be.softmaxRows(sc, rep, Tk);
        be.matmul(be.view(a.att, g * rep * D, [rep * D]), sc, Vg, rep, D, Tk);
      }
      attnOutputAndMlpForward(be, d, layers[l], a, 1, null, null);
    }
    be.rmsnormForward(one.hN, one.rstdF, one.res[layers.length], m.finalNorm, 1, C, d.eps);
    cache.len = p + 1;
    return wantLogits ? lastLogits(one.hN, 0) : null;
  };

  const forwardStep = (ids: ArrayLike<number>, cache: KvCache): Float32Array => {
    if (ids.length === 0) throw new ModelError('INPUT_INVALID', 'forwardStep needs at least one token.');
    if (cache.len + ids.length > cache.maxLen) {
      throw new ModelError(
        'INPUT_INVALID',
        `KV cache holds ${cache.maxLen} positions; ${cache.len} used, ${ids.length} more requested.`,
      );
    }
    m.checkIds(ids, 'ids');
    if (cache.len === 0 && ids.length > 1) return prefill(Int32Array.from(ids), cache);
    let out: Float32Array | null = null;
    for (let i = 0; i < ids.length; i++) out = step(ids[i], cache, i === ids.length - 1);
    return out as Float32Array;
  };

  return { createKvCache, forwardStep };
}
