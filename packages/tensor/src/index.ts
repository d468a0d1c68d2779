import type { Backend } from './backend';
import { cpuAvailable, loadCpuBackend } from './cpu';
import { referenceBackend } from './reference';

export type { AdamWOptions, Backend, F32, MatmulBf16Options, MatmulOptions } from './backend';
export { bf16Round, bf16ToF32, f32ToBf16, fromBf16, toBf16 } from './bf16';
export {
  crossEntropyLmHeadBf16Reference,
  embeddingForwardBf16Reference,
  matmulBf16PackedReference,
} from './bf16-reference';
export type { TBf16Kernel, TCpuInfo, TPackedBf16Weight } from './cpu';
export { cpuAvailable, cpuInfo, loadBf16Ops, packBf16Weight, packedBytesPerParam } from './cpu';
export { referenceBackend } from './reference';

export type TBackendName = 'reference' | 'cpu' | 'auto';

/** 'auto' = the native cpu backend when its addon loaded, else the plain-TS reference (slow but always there). */
export function createBackend(name: TBackendName = 'auto'): Backend {
  if (name === 'reference') return referenceBackend;
  if (name === 'cpu') return loadCpuBackend();
  return cpuAvailable() ? loadCpuBackend() : referenceBackend;
}
