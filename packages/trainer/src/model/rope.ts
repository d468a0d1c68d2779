import type { ModelConfig } from './types';

/**
 * RoPE inverse frequencies [headDim/2] for configs whose RoPE is not plain (`ropeScaling`), or null: plain RoPE is
 * computed by the backend's rope op from theta alone.
 *
 * Llama 3.1's rescaling, as Transformers' `_compute_llama3_parameters`: wavelengths longer than
 * original_max_position_embeddings / low_freq_factor are divided by `factor`, shorter than .../high_freq_factor are
 * kept, and those between are interpolated smoothly. Transformers computes this in float32 torch ops; here each
 * step is rounded to float32 the same way (Math.fround), so the frequencies agree to the last bit or one ulp.
 * `linear` scaling (Gemma 3's global layers) divides every default frequency by factor. Gemma 3's sliding layers use
 * plain RoPE with their own base (GemmaSpec.localRopeTheta): the backend op computes those from theta.
 */
export function ropeInvFreq(c: ModelConfig): Float32Array | null {
  const s = c.ropeScaling;
  if (!s) return null;
  const f = Math.fround;
  const D = c.headDim;
  if (s.type === 'linear') {
    // Transformers' _compute_linear_scaling_rope_parameters: the default frequencies (float32) / factor.
    const out = new Float32Array(D / 2);
    for (let i = 0; i < out.length; i++) out[i] = f(f(1 / f(c.ropeTheta ** f((2 * i) / D))) / s.factor);
    return out;
  }
  const half = D / 2;
  const out = new Float32Array(half);
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const inv = f(1 / f(c.ropeTheta ** f((2 * i) / D)));
    const wavelen = f(f(2 * Math.PI) * f(1 / inv));
    let scaled = wavelen > lowWavelen ? f(inv / s.factor) : inv;
    if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
      const smooth =
        f(f(f(s.originalMaxPositionEmbeddings) * f(1 / wavelen)) - s.lowFreqFactor) /
        (s.highFreqFactor - s.lowFreqFactor);
      const sm = f(smooth);
      scaled = f(f(f(f(1 - sm) * scaled) / s.factor) + f(sm * scaled));
    }
    out[i] = scaled;
  }
  return out;
}
