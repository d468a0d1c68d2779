/**
 * torch.optim.AdamW over the trainable parameters, with the HF Trainer's parameter groups (no weight decay for biases
 * and normalisation weights) and torch.nn.utils.clip_grad_norm_ on the global L2 norm. The update itself runs in the
 * backend (`backend.adamw`), so the maths lives next to the other kernels and is tested there.
 */
import type { Backend } from '@crucible/tensor';

/** A trainable tensor as the model hands it out: `data` and `grad` are flat row-major buffers of the same length. */
export type Param = {
  name: string;
  shape: number[];
  data: Float32Array;
  grad: Float32Array;
  /** Whether weight decay applies; when absent the HF naming rule decides. */
  decay?: boolean;
};

export type AdamWConfig = {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip_grad_norm_ threshold; 0 or less disables clipping (HF: max_grad_norm). */
  maxGradNorm: number;
};

export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = Object.freeze({
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  maxGradNorm: 1.0,
});

export type OptimizerState = {
  /** Optimizer steps taken (torch's state['step'], shared by all params since they all step together). */
  step: number;
  m: Float32Array[];
  v: Float32Array[];
};

export type Optimizer = {
  readonly params: Param[];
  readonly state: OptimizerState;
  /** Global L2 norm of all grads (float64 accumulation), before clipping. */
  gradNorm(): number;
  /** Clip, update with learning rate `lr`, zero the grads. Returns the pre-clip global grad norm. */
  step(lr: number): number;
  zeroGrad(): void;
};

/**
 * HF Trainer.get_decay_parameter_names: everything decays except biases and LayerNorm/RMSNorm weights, matched by
 * name ("bias", "layernorm", "rmsnorm", "norm", "_norm" components) as recent Transformers does.
 */
export function decaysByName(name: string): boolean {
  const n = name.toLowerCase();
  if (/(^|\.)bias$/.test(n) || n.includes('bias')) return false;
  if (n.includes('layernorm') || n.includes('rmsnorm')) return false;
  if (/(^|\.)norm($|\.)/.test(n) || /_norm($|\.)/.test(n)) return false;
  return true;
}

export function createAdamW(backend: Backend, params: Param[], cfg: Partial<AdamWConfig> = {}): Optimizer {
  const c: AdamWConfig = { ...ADAMW_DEFAULTS, ...cfg };
  const state: OptimizerState = {
    step: 0,
    m: params.map((p) => new Float32Array(p.data.length)),
    v: params.map((p) => new Float32Array(p.data.length)),
  };
  const decays = params.map((p) => p.decay ?? decaysByName(p.name));

  const gradNorm = () => {
    let ss = 0;
    for (const p of params) ss += backend.sumSquares(p.grad, p.grad.length);
    return Math.sqrt(ss);
  };
  const zeroGrad = () => {
    for (const p of params) p.grad.fill(0);
  };

  return {
    params,
    state,
    gradNorm,
    zeroGrad,
    step(lr: number) {
      const norm = gradNorm();
      if (c.maxGradNorm > 0) {
        // torch: clip_coef = max_norm / (total_norm + 1e-6), applied only when it is below 1.
        const coef = c.maxGradNorm / (norm + 1e-6);
        if (coef < 1) for (const p of params) backend.scale(p.grad, coef, p.grad.length);
      }
      state.step += 1;
      params.forEach((p, i) => {
        backend.adamw(p.data, p.grad, state.m[i], state.v[i], p.data.length, {
          lr,
          beta1: c.beta1,
          beta2: c.beta2,
          eps: c.eps,
          weightDecay: decays[i] ? c.weightDecay : 0,
          step: state.step,
        });
      });
      zeroGrad();
      return norm;
    },
  };
}
