import type { Backend } from './backend';
import { cpuAvailable, loadCpuBackend } from './cpu';
import { referenceBackend } from './reference';

export type {
  AdamWOptions,
  Backend,
  BackendInfo,
  DeviceTensor,
  DropoutOptions,
  DType,
  F32,
  HostArray,
  Kernels,
  MatmulBf16Options,
  MatmulOptions,
  Tensor,
} from './backend';
export { readScalar, SCALAR_SIZE, splitScalar } from './backend';
export { bf16Round, bf16ToF32, f32ToBf16, fromBf16, toBf16 } from './bf16';
export {
  crossEntropyLmHeadBf16Reference,
  embeddingForwardBf16Reference,
  matmulBf16PackedReference,
} from './bf16-reference';
export type { TBf16Kernel, TCpuInfo, TPackedBf16Weight } from './cpu';
export {
  cpuAvailable,
  cpuInfo,
  loadBf16Ops,
  loadCpuKernels,
  packBf16Weight,
  packedBytesPerParam,
} from './cpu';
export { dropoutBits, dropThreshold } from './dropout';
export { createHostBackend, hostData, type PackedBf16 } from './host';
export { referenceBackend, referenceKernels } from './reference';

export type TBackendName = 'reference' | 'cpu' | 'auto';

/** 'auto' = the native cpu backend when its addon loaded, else the plain-TS reference (slow but always there). */
export function createBackend(name: TBackendName = 'auto'): Backend {
  if (name === 'reference') return referenceBackend;
  if (name === 'cpu') return loadCpuBackend();
  return cpuAvailable() ? loadCpuBackend() : referenceBackend;
}
