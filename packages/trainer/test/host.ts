// Host access to model parameters for tests: parameters are backend tensors, so a test reads them with download
// and changes them with upload (the same calls any backend supports), never through backend internals.
import type { Backend, DeviceTensor } from '@crucible/tensor';

export const host = (be: Backend, t: DeviceTensor): Float32Array => be.download(t) as Float32Array;

/** Downloads a tensor, lets fn change the host copy, uploads it back. */
export function edit(be: Backend, t: DeviceTensor, fn: (data: Float32Array) => void): void {
  const d = host(be, t);
  fn(d);
  be.upload(t, d);
}

/** A fresh LoRA dropout stream at counter 0 (the same mask every time it is passed anew). */
export const dropoutAt = (seed: number) => ({ seed, offset: 0 });
