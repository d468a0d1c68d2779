/**
 * Next-token choice as Hugging Face's generate does it with do_sample: logits / temperature, then top-k, then top-p
 * (the smallest set of most likely tokens whose probability reaches top_p; at least one token), renormalise, draw.
 * temperature 0 means greedy (argmax, first index on ties like torch.argmax).
 */
export type SampleOptions = { temperature: number; topP: number; topK?: number };

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * The candidates a sampler may draw from with their renormalised probabilities, most likely first.
 * Exposed for tests; sampleToken uses it.
 */
export function nucleus(logits: ArrayLike<number>, opts: SampleOptions): { ids: Int32Array; probs: Float64Array } {
  const V = logits.length;
  const invT = 1 / opts.temperature;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    const e = Math.exp((logits[i] - max) * invT);
    p[i] = e;
    sum += e;
  }
  for (let i = 0; i < V; i++) p[i] /= sum;

  const topK = opts.topK && opts.topK > 0 ? Math.min(opts.topK, V) : V;
  const topP = opts.topP > 0 && opts.topP < 1 ? opts.topP : 1;
  if (topK < V) return cut(p, largest(p, topK), topP);
  if (topP >= 1) return { ids: Int32Array.from({ length: V }, (_, i) => i), probs: p };
  // The nucleus is a prefix of the tokens in descending probability, usually short: find the k largest for a
  // growing k instead of sorting the whole vocabulary (150k entries) for every token.
  for (let k = Math.min(64, V); ; k = Math.min(V, k * 4)) {
    const top = largest(p, k);
    let cum = 0;
    for (let i = 0; i < k; i++) {
      cum += p[top[i]];
      if (cum >= topP) return cut(p, top.subarray(0, i + 1), 1);
    }
    if (k === V) return cut(p, top, 1); // rounding left the total a hair below topP: keep everything
  }
}

/** Keeps the shortest prefix of top (descending) whose renormalised mass reaches topP; renormalises it. */
function cut(p: Float64Array, top: Int32Array, topP: number): { ids: Int32Array; probs: Float64Array } {
  let mass = 0;
  for (let i = 0; i < top.length; i++) mass += p[top[i]];
  let keep = top.length;
  let cum = 0;
  for (let i = 0; i < top.length; i++) {
    cum += p[top[i]] / mass;
    if (cum >= topP) {
      keep = i + 1;
      break;
    }
  }
  const ids = Int32Array.from(top.subarray(0, keep));
  const probs = new Float64Array(keep);
  let s = 0;
  for (let i = 0; i < keep; i++) s += p[ids[i]];
  for (let i = 0; i < keep; i++) probs[i] = p[ids[i]] / s;
  return { ids, probs };
}

export function sampleToken(logits: ArrayLike<number>, opts: SampleOptions, rng: () => number): number {
  if (!(opts.temperature > 0)) return argmax(logits);
  const { ids, probs } = nucleus(logits, opts);
  let u = rng();
  for (let i = 0; i < ids.length; i++) {
    u -= probs[i];
    if (u < 0) return ids[i];
  }
  return ids[ids.length - 1];
}

/** Indices of the k largest values, largest first (ties: lower index first). O(V log k) with a min-heap. */
function largest(p: Float64Array, k: number): Int32Array {
  const V = p.length;
  if (k >= V) {
    const all = Int32Array.from({ length: V }, (_, i) => i);
    return all.sort((a, b) => p[b] - p[a] || a - b);
  }
  const heap = new Int32Array(k); // min-heap by (p, -index): the root is the weakest of the current top k
  let n = 0;
  const weaker = (a: number, b: number): boolean => p[a] < p[b] || (p[a] === p[b] && a > b);
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && weaker(heap[l], heap[m])) m = l;
      if (r < n && weaker(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < V; i++) {
    if (n < k) {
      heap[n] = i;
      let j = n++;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (!weaker(heap[j], heap[parent])) break;
        [heap[j], heap[parent]] = [heap[parent], heap[j]];
        j = parent;
      }
    } else if (weaker(heap[0], i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => p[b] - p[a] || a - b);
}
