/**
 * The counter-based generator behind LoRA dropout (Backend.dropoutForward/Backward): 32 random bits as a pure
 * function of (seed, counter), so a mask is recomputed instead of stored, the same on every backend and every run.
 *
 * bits(seed, c) = fmix32(lo(c) + fmix32(hi(c) ^ fmix32(seed ^ 0x9e3779b9))), with fmix32 MurmurHash3's finaliser (a
 * bijection with full avalanche) and c = hi * 2^32 + lo < 2^53. For a fixed seed and hi it is a bijection of lo, so
 * neighbouring counters never collide, and each output bit depends on every input bit. Integer arithmetic only:
 * native/dropout.cc computes the same bits (tested bit for bit in cpu.test.ts). Element i of a call with offset o
 * is dropped iff bits(seed, o + i) < dropThreshold(p).
 */

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** floor(p * 2^32): an element is dropped when its 32 bits are below this. */
export function dropThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout p must be in [0, 1), got ${p}`);
  return Math.floor(p * 4294967296);
}

export function dropoutBits(seed: number, counter: number): number {
  const hi = Math.floor(counter / 4294967296);
  const lo = counter - hi * 4294967296;
  const k = fmix32(((seed >>> 0) ^ 0x9e3779b9) >>> 0);
  return fmix32((lo + fmix32((hi ^ k) >>> 0)) >>> 0);
}

export function checkDropoutOffset(offset: number): void {
  if (!(Number.isInteger(offset) && offset >= 0 && offset <= Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`dropout offset must be an integer in [0, 2^53), got ${offset}`);
  }
}
