/**
 * A small seeded generator whose whole state is four uint32s, so a checkpoint can save it and a resumed run draws
 * exactly the numbers the uninterrupted run would have drawn (xoshiro128**, Blackman & Vigna).
 */
export type RngState = [number, number, number, number];

export type Rng = {
  /** Uniform in [0, 1) with 32 random bits. */
  next(): number;
  /** Uniform uint32. */
  nextU32(): number;
  getState(): RngState;
  setState(s: RngState): void;
};

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let s: RngState = [init(), init(), init(), init()];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s = [1, 0, 0, 0];
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return {
    nextU32,
    next: () => nextU32() / 4294967296,
    getState: () => [s[0], s[1], s[2], s[3]],
    setState: (n) => {
      s = [n[0] >>> 0, n[1] >>> 0, n[2] >>> 0, n[3] >>> 0];
    },
  };
}

/**
 * The sample order of one epoch, like torch's RandomSampler: a fresh permutation per epoch, derived from the seed and
 * the epoch number alone so that resuming mid-run needs no sampler state beyond (epoch, position).
 */
export function epochPermutation(n: number, seed: number, epoch: number): number[] {
  const rng = createRng((Math.imul(seed >>> 0, 0x01000193) ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
