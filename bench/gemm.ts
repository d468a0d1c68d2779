/**
 * SGEMM benchmark of the native cpu backend (not a test). Run: npx tsx bench/gemm.ts [--seconds 2] [--reps 3]
 * Measures this machine's practical fp32 peak with an FMA-only loop on every pool thread, then the GEMM shapes of a
 * Qwen2.5-0.5B layer at 512 tokens (forward x W^T and the two backward products), best of `reps` timings each,
 * and prints GFLOPS and the fraction of the measured peak.
 */
import { cpuInfo, loadCpuAddon } from '@crucible/tensor/cpu';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('seconds', 2);
const reps = arg('reps', 3);

const addon = loadCpuAddon();
if (!addon) {
  console.error('The native addon did not load; build it with `npm ci` (or node-gyp rebuild in packages/tensor).');
  process.exit(1);
}
const info = cpuInfo();
const kernel = process.env.CRUCIBLE_KERNEL;
if (kernel && !addon.setKernel(kernel)) throw new Error(`kernel ${kernel} is not supported on this CPU`);

type TShape = { label: string; M: number; N: number; K: number; ta: boolean; tb: boolean };
const shapes: TShape[] = [
  { label: 'MLP up/gate fwd  X W^T', M: 512, N: 4864, K: 896, ta: false, tb: true },
  { label: 'MLP up/gate fwd  X W (NN)', M: 512, N: 4864, K: 896, ta: false, tb: false },
  { label: 'MLP down bwd dX  dY W', M: 512, N: 896, K: 4864, ta: false, tb: false },
  { label: 'MLP up dW        dY^T X', M: 4864, N: 896, K: 512, ta: true, tb: false },
  { label: 'q/o proj fwd     X W^T', M: 512, N: 896, K: 896, ta: false, tb: true },
  { label: 'q/o proj bwd dX  dY W', M: 512, N: 896, K: 896, ta: false, tb: false },
  { label: 'q/o proj dW      dY^T X', M: 896, N: 896, K: 512, ta: true, tb: false },
];

const fill = (n: number): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return a;
};

addon.fmaPeak(0.2); // wake the pool and the clocks
const peak = addon.fmaPeak(seconds);
const rows: string[][] = [];
for (const s of shapes) {
  const a = fill(s.M * s.K), b = fill(s.K * s.N), c = new Float32Array(s.M * s.N);
  const flop = 2 * s.M * s.N * s.K;
  const inner = Math.max(1, Math.round(2e10 / flop)); // ~0.1-0.2 s per timing at ~150 GFLOPS
  addon.matmul(c, a, b, s.M, s.N, s.K, s.ta, s.tb, 1, 0);
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) addon.matmul(c, a, b, s.M, s.N, s.K, s.ta, s.tb, 1, 0);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9 / inner);
  }
  const gflops = flop / best / 1e9;
  rows.push([s.label, `${s.M}x${s.N}x${s.K}`, `${s.ta ? 'T' : 'N'}${s.tb ? 'T' : 'N'}`, gflops.toFixed(1), `${((100 * gflops) / peak).toFixed(0)}%`]);
}

console.log(`threads ${info?.threads}, kernel ${addon.info().kernel}, fp32 FMA peak ${peak.toFixed(1)} GFLOPS (${seconds}s loop)`);
const head = ['GEMM', 'MxNxK', 'op', 'GFLOPS', 'of peak'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
