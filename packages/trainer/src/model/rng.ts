/**
 * A small seeded generator (mulberry32 over a splitmix32-mixed seed): repeatable LoRA initialisation and dropout
 * streams without Math.random. Not torch's generator: a seed here does not reproduce a PyTorch run bit for bit.
 */
export function createRng(seed: number): () => number {
  let s = mix32(seed >>> 0);
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
