/**
 * torch.optim.AdamW over the trainable parameters, with the HF Trainer's parameter groups (no weight decay for biases
 * and normalisation weights) and torch.nn.utils.clip_grad_norm_ on the global L2 norm. The update itself runs in the
 * backend (`backend.adamw`), on backend tensors, so the maths lives next to the other kernels and is tested there;
 * the moments m and v are backend tensors too. The only host read is the global norm (one f32 per parameter tensor,
 * summed in float64 on the host), which the loop downloads together with the step's losses.
 */
import { type Backend, type DeviceTensor as DT, readScalar, SCALAR_SIZE } from '@crucible/tensor';

/** A trainable tensor as the model hands it out: `data` and `grad` are backend f32 tensors of the same size. */
export type Param = {
  name: string;
  shape: number[];
  data: DT;
  grad: DT;
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
  m: DT[];
  v: DT[];
};

export type Optimizer = {
  readonly params: Param[];
  readonly state: OptimizerState;
  /**
   * Writes each parameter's sum of squared gradients into device scalar i of out (f32, SCALAR_SIZE * params.length
   * elements, e.g. a view of the loop's metrics tensor). normFromSquares turns the downloaded values into the norm.
   */
  gradSquaresInto(out: DT): void;
  /** Global L2 norm of all grads (downloads; float64 accumulation), before clipping. */
  gradNorm(): number;
  /** Clip with a norm already computed, update with learning rate `lr`, zero the grads. */
  stepWithNorm(lr: number, norm: number): void;
  /** gradNorm + stepWithNorm. Returns the pre-clip global grad norm. */
  step(lr: number): number;
  zeroGrad(): void;
};

/** The global norm from n per-tensor sums of squares (device scalars, downloaded), summed in float64. */
export function normFromSquares(squares: ArrayLike<number>, n: number, at = 0): number {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += readScalar(squares, at + i * SCALAR_SIZE);
  return Math.sqrt(ss);
}

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
  const be = backend;
  const c: AdamWConfig = { ...ADAMW_DEFAULTS, ...cfg };
  const state: OptimizerState = {
    step: 0,
    m: params.map((p) => be.alloc([p.data.size])),
    v: params.map((p) => be.alloc([p.data.size])),
  };
  const decays = params.map((p) => p.decay ?? decaysByName(p.name));
  const squares = be.alloc([Math.max(1, params.length) * SCALAR_SIZE]);

  const gradSquaresInto = (out: DT) => {
    params.forEach((p, i) => {
      be.sumSquares(be.view(out, i * SCALAR_SIZE, [SCALAR_SIZE]), p.grad, p.grad.size);
    });
  };
  const gradNorm = () => {
    gradSquaresInto(squares);
    return normFromSquares(be.download(squares), params.length);
  };
  const zeroGrad = () => {
    for (const p of params) be.fill(p.grad, 0);
  };
  const stepWithNorm = (lr: number, norm: number) => {
    if (c.maxGradNorm > 0) {
      // torch: clip_coef = max_norm / (total_norm + 1e-6), applied only when it is below 1.
      const coef = c.maxGradNorm / (norm + 1e-6);
      if (coef < 1) for (const p of params) be.scale(p.grad, coef, p.grad.size);
    }
    state.step += 1;
    params.forEach((p, i) => {
      be.adamw(p.data, p.grad, state.m[i], state.v[i], p.data.size, {
        lr,
        beta1: c.beta1,
        beta2: c.beta2,
        eps: c.eps,
        weightDecay: decays[i] ? c.weightDecay : 0,
        step: state.step,
      });
    });
    zeroGrad();
  };

  return {
    params,
    state,
    gradSquaresInto,
    gradNorm,
    zeroGrad,
    stepWithNorm,
    step(lr: number) {
      const norm = gradNorm();
      stepWithNorm(lr, norm);
      return norm;
    },
  };
}
