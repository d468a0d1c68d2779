/**
 * SGEMM benchmark of the native cpu backend (not a test). Run: npx tsx bench/gemm.ts [--seconds 2] [--reps 3] [--kernel avx512|avx2|scalar]
 * Measures this machine's practical fp32 peak with an FMA-only loop on every pool thread, then the GEMM shapes of a
 * Qwen2.5-0.5B layer at 512 tokens (forward x W^T and the two backward products), best of `reps` timings each,
 * and prints GFLOPS and the fraction of the measured fp32 peak (bf16 rows can exceed 100%: vdpbf16ps does two
 * multiply-adds per fp32 lane). Pass --kernel avx2|scalar to measure the other kernels; CRUCIBLE_THREADS=n sets the pool size.
 */
import { toBf16 } from '@crucible/tensor/bf16';
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
const ki = process.argv.indexOf('--kernel');
const kernel = ki >= 0 ? process.argv[ki + 1] : undefined;
if (kernel && !addon.setKernel(kernel)) throw new Error(`kernel ${kernel} is not supported on this CPU`);

type TShape = { label: string; M: number; N: number; K: number; ta: boolean; tb: boolean; bf16?: boolean };
const shapes: TShape[] = [
  { label: 'MLP up/gate fwd  X W^T', M: 512, N: 4864, K: 896, ta: false, tb: true },
  { label: 'MLP up/gate fwd  X W (NN)', M: 512, N: 4864, K: 896, ta: false, tb: false },
  { label: 'MLP down bwd dX  dY W', M: 512, N: 896, K: 4864, ta: false, tb: false },
  { label: 'MLP up dW        dY^T X', M: 4864, N: 896, K: 512, ta: true, tb: false },
  { label: 'q/o proj fwd     X W^T', M: 512, N: 896, K: 896, ta: false, tb: true },
  { label: 'q/o proj bwd dX  dY W', M: 512, N: 896, K: 896, ta: false, tb: false },
  { label: 'q/o proj dW      dY^T X', M: 896, N: 896, K: 512, ta: true, tb: false },
  // Frozen bf16 base weights (matmulBf16W): forward x W^T and the input gradient dY W.
  { label: 'bf16W MLP up fwd X W^T', M: 512, N: 4864, K: 896, ta: false, tb: true, bf16: true },
  { label: 'bf16W MLP down dX dY W', M: 512, N: 896, K: 4864, ta: false, tb: false, bf16: true },
  { label: 'bf16W q/o fwd    X W^T', M: 512, N: 896, K: 896, ta: false, tb: true, bf16: true },
];

const fill = (n: number): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return a;
};

addon.fmaPeak(0.2); // wake the pool and the clocks
// On a shared machine the available compute drifts; the peak is the best of probes spread through the run.
let peak = addon.fmaPeak(seconds);
const rows: string[][] = [];
for (const s of shapes) {
  const a = fill(s.M * s.K),
    b = fill(s.K * s.N),
    c = new Float32Array(s.M * s.N);
  const w = s.bf16 ? toBf16(b) : new Uint16Array(0);
  const run = () =>
    s.bf16
      ? addon.matmulBf16W(c, a, w, s.M, s.N, s.K, s.tb, 1, 0)
      : addon.matmul(c, a, b, s.M, s.N, s.K, s.ta, s.tb, 1, 0);
  const flop = 2 * s.M * s.N * s.K;
  const inner = Math.max(1, Math.round(2e10 / flop)); // ~0.1-0.2 s per timing at ~150 GFLOPS
  peak = Math.max(peak, addon.fmaPeak(seconds / 4));
  run();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) run();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9 / inner);
  }
  rows.push([
    s.label,
    `${s.M}x${s.N}x${s.K}`,
    `${s.ta ? 'T' : 'N'}${s.tb ? 'T' : 'N'}`,
    (flop / best / 1e9).toFixed(1),
  ]);
}
peak = Math.max(peak, addon.fmaPeak(seconds));
for (const row of rows) row.push(`${((100 * Number(row[3])) / peak).toFixed(0)}%`);

console.log(
  `threads ${info?.threads}, kernel ${addon.info().kernel}, bf16 native ${addon.info().bf16}, fp32 FMA peak ${peak.toFixed(1)} GFLOPS (${seconds}s loop)`,
);
const head = ['GEMM', 'MxNxK', 'op', 'GFLOPS', 'of peak'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
