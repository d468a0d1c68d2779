/**
 * Where a training step's time goes: a Backend wrapper that times every op (ops are synchronous on host backends,
 * so wall time per call is the op's own) and sums it by op class. GEMM classes also count their FLOPs. Each op's
 * CPU time (process.cpuUsage: the pool threads together) is summed too: on a shared machine the wall time of an op
 * includes the time its threads waited for a core, its CPU time does not.
 */
import type { Backend, DeviceTensor } from '@crucible/tensor';

export type TProfile = {
  totalS: number;
  totalCpuS: number;
  byOp: Record<string, { s: number; cpuS: number; calls: number; gflop: number }>;
};

const minDim = (a: number, b: number, c: number) => Math.min(a, b, c);

export function profiled(be: Backend): { backend: Backend; start(): void; stop(): void; report(): TProfile } {
  let on = false;
  const byOp: TProfile['byOp'] = {};
  const add = (k: string, s: number, cpuS: number, gflop = 0) => {
    const e = byOp[k] ?? { s: 0, cpuS: 0, calls: 0, gflop: 0 };
    e.s += s;
    e.cpuS += cpuS;
    e.calls += 1;
    e.gflop += gflop;
    byOp[k] = e;
  };
  const wrapped = { ...be } as Record<string, unknown>;
  for (const [name, fn] of Object.entries(be)) {
    if (typeof fn !== 'function' || ['info', 'alloc', 'free', 'view'].includes(name)) continue;
    wrapped[name] = (...args: unknown[]) => {
      if (!on) return (fn as (...a: unknown[]) => unknown)(...args);
      let key = name;
      let gflop = 0;
      if (name === 'matmul') {
        const [, , b, M, N, K] = args as [DeviceTensor, DeviceTensor, DeviceTensor, number, number, number];
        gflop = (2 * M * N * K) / 1e9;
        key =
          (b as DeviceTensor).dtype === 'bf16'
            ? 'matmul bf16 (frozen W)'
            : minDim(M, N, K) <= 64
              ? 'matmul f32 LoRA'
              : 'matmul f32';
      } else if (name === 'crossEntropyLmHead') {
        const a = args as [
          DeviceTensor,
          DeviceTensor | null,
          DeviceTensor | null,
          DeviceTensor,
          DeviceTensor,
          DeviceTensor,
          number,
          number,
          number,
        ];
        gflop = ((a[1] ? 4 : 2) * a[6] * a[7] * a[8]) / 1e9;
        key = `lm head + CE ${a[4].dtype}`;
      }
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = (fn as (...a: unknown[]) => unknown)(...args);
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      add(key, wall, (c.user + c.system) / 1e6, gflop);
      return r;
    };
  }
  return {
    backend: wrapped as unknown as Backend,
    start: () => {
      on = true;
    },
    stop: () => {
      on = false;
    },
    report: () => ({
      totalS: Object.values(byOp).reduce((a, v) => a + v.s, 0),
      totalCpuS: Object.values(byOp).reduce((a, v) => a + v.cpuS, 0),
      byOp,
    }),
  };
}
