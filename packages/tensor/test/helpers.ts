/** Shared test helpers: a seeded RNG, float64 arrays passed as F32, and a finite-difference gradient checker. */
import type { F32 } from '../src/backend';

/** mulberry32: small, seedable, good enough to draw test data reproducibly. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [-scale, scale). */
export function randArray<T extends Float32Array | Float64Array>(
  ctor: { new (n: number): T },
  n: number,
  r: () => number,
  scale = 1,
): T {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/** The reference backend only indexes its arrays, so float64 data can go through the F32-typed API. */
export const f32 = (a: Float64Array): F32 => a as unknown as F32;

export type TInputs = Record<string, Float64Array>;

export type TGradCase = {
  inputs: TInputs;
  /** Runs the op's forward on the current inputs and returns a fresh output (or [loss] for scalar ops). */
  forward: (x: TInputs) => Float64Array;
  /** Runs the op's backward for upstream gradient dout and returns gradients for the inputs it differentiates. */
  backward: (x: TInputs, dout: Float64Array) => TInputs;
};

export type TGradReport = { worst: number; where: string; checked: number };

/**
 * Central finite differences of L = sum(forward(x) * w) for random fixed w, compared with backward(x, w).
 * Returns the worst |fd - analytic| / (atol + rtol |fd|); <= 1 means every checked element is within tolerance.
 * At most maxPerInput elements of each input are probed (evenly spaced) to bound the cost.
 */
export function gradCheck(
  c: TGradCase,
  seed: number,
  opts: { h?: number; atol: number; rtol: number; maxPerInput?: number },
): TGradReport {
  const r = rng(seed);
  const h = opts.h ?? 1e-5;
  const out = c.forward(c.inputs);
  const w = randArray(Float64Array, out.length, r);
  const loss = (): number => {
    const o = c.forward(c.inputs);
    let s = 0;
    for (let i = 0; i < o.length; i++) s += o[i] * w[i];
    return s;
  };
  const grads = c.backward(c.inputs, w);
  let worst = 0;
  let where = '';
  let checked = 0;
  for (const [name, g] of Object.entries(grads)) {
    const x = c.inputs[name];
    const stride = Math.max(1, Math.floor(x.length / (opts.maxPerInput ?? 400)));
    for (let i = 0; i < x.length; i += stride) {
      const old = x[i];
      x[i] = old + h;
      const lp = loss();
      x[i] = old - h;
      const lm = loss();
      x[i] = old;
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - g[i]) / (opts.atol + opts.rtol * Math.abs(fd));
      checked++;
      if (err > worst || Number.isNaN(err)) {
        worst = Number.isNaN(err) ? Infinity : err;
        where = `${name}[${i}]: fd ${fd} analytic ${g[i]}`;
      }
    }
  }
  return { worst, where, checked };
}
