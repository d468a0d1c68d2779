import { createRng } from './rng';
import { weightShapes } from './shapes';
import type { ModelConfig, Weights } from './types';

/**
 * Random weights as Transformers initialises them (normal(0, std) for matrices and biases, ones for norms; zeros for
 * Gemma's, which scale by 1 + w), from a seeded stream. normNoise > 0 perturbs the norm weights too (tests want every parameter to matter).
 */
export function randomWeights(c: ModelConfig, opts: { seed: number; std?: number; normNoise?: number }): Weights {
  const rng = createRng(opts.seed);
  const std = opts.std ?? 0.02;
  const noise = opts.normNoise ?? 0;
  const normal = (): number => {
    const u = 1 - rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const normOne = c.gemma ? 0 : 1;
  const w: Weights = new Map();
  for (const [name, shape] of weightShapes(c)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = name.endsWith('norm.weight');
    for (let i = 0; i < data.length; i++) data[i] = isNorm ? normOne + noise * normal() : std * normal();
    w.set(name, { shape, data });
  }
  return w;
}
