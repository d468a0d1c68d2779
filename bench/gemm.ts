/**
 * SGEMM and bf16 GEMM benchmark of the native cpu backend (not a test).
 * Run: npx tsx bench/gemm.ts [--seconds 2] [--reps 3] [--kernel avx512|avx2|scalar] [--bf16-only] [--no-big] [--lora]
 * Measures this machine's practical fp32 peak with an FMA-only loop on every pool thread, then the GEMM shapes of a
 * Qwen2.5-0.5B layer at 512 tokens (forward x W^T and the two backward products), best of `reps` timings each,
 * and prints GFLOPS and the fraction of the measured fp32 peak (bf16 rows can exceed 100%: vdpbf16ps does two
 * multiply-adds per fp32 lane). Pass --kernel avx2|scalar to measure the other kernels; CRUCIBLE_THREADS=n sets the pool size.
 *
 * Then the packed bf16 weights (packBf16Weight + matmulBf16Packed, crossEntropyLmHeadBf16) on every bf16 kernel this
 * CPU has (amx, avx512bf16, avx512fma, widened) against the fp32 SGEMM on the same shapes: Qwen2.5-0.5B at 512 tokens (forward
 * x W^T and input gradient dY W of the MLP, q/o and the 151936-row LM head, and the fused LM-head cross-entropy) and
 * one Qwen2.5-7B MLP shape; GFLOPS and the ratio to fp32, with the CPU model, its flags and the AMX peak of a
 * TDPBF16PS-only loop. --no-big skips the LM head and 7B rows (about 2 GB of arrays); --bf16-only skips the first table.
 * --lora measures only LoRA's six skinny products (r = 16) per linear at Qwen2.5-0.5B shapes against a square SGEMM
 * measured in alternation.
 */
import { readFileSync } from 'node:fs';
import { toBf16 } from '@crucible/tensor/bf16';
import { cpuInfo, loadCpuAddon, type TBf16Kernel, type TPackedBf16Weight } from '@crucible/tensor/cpu';

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

// This machine is shared: wall-clock rates fall when other processes take the cores. Rates per CPU-second
// (process.cpuUsage, all pool threads together) only count time this process was actually running, so the second
// pair of columns shows what the code achieves per busy core independent of the load; both are printed.
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
type TRate = { wall: number; cpu: number };
const measurePeak = (s: number): TRate => {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const wall = addon.fmaPeak(s);
  const flop = (wall * (performance.now() - t0)) / 1e3;
  return { wall, cpu: (flop / (cpuSeconds() - c0)) * (info?.threads ?? 1) };
};
const best = (a: TRate, b: TRate): TRate => ({ wall: Math.max(a.wall, b.wall), cpu: Math.max(a.cpu, b.cpu) });

// ---- --lora: LoRA's skinny products (r = 16) at Qwen2.5-0.5B shapes, T = 512, against the 12x32 SGEMM ------------
if (process.argv.includes('--lora')) {
  const T = 512;
  const r = 16;
  type TL = { label: string; M: number; N: number; K: number; ta: boolean; tb: boolean };
  const lshapes: TL[] = [];
  for (const [inF, outF, name] of [
    [896, 896, 'q/o'],
    [896, 4864, 'up/gate'],
    [4864, 896, 'down'],
  ] as const) {
    lshapes.push({ label: `${name} x A^T`, M: T, N: r, K: inF, ta: false, tb: true });
    lshapes.push({ label: `${name} h B^T`, M: T, N: outF, K: r, ta: false, tb: true });
    lshapes.push({ label: `${name} dB = dY^T h`, M: outF, N: r, K: T, ta: true, tb: false });
    lshapes.push({ label: `${name} dh = dY B`, M: T, N: r, K: outF, ta: false, tb: false });
    lshapes.push({ label: `${name} dA = dh^T x`, M: r, N: inF, K: T, ta: true, tb: false });
    lshapes.push({ label: `${name} dX += dh A`, M: T, N: inF, K: r, ta: false, tb: false });
  }
  const rate = (s: TL): TRate => {
    const a = fill(s.M * s.K);
    const b = fill(s.K * s.N);
    const c = new Float32Array(s.M * s.N);
    const flop = 2 * s.M * s.N * s.K;
    const inner = Math.max(1, Math.round(4e9 / flop));
    let out: TRate = { wall: 0, cpu: 0 };
    for (let rep = 0; rep < reps; rep++) {
      const c0 = cpuSeconds();
      const t0 = performance.now();
      for (let i = 0; i < inner; i++) addon.matmul(c, a, b, s.M, s.N, s.K, s.ta, s.tb, 1, 1);
      const wall = (performance.now() - t0) / 1e3;
      out = best(out, {
        wall: (flop * inner) / wall / 1e9,
        cpu: ((flop * inner) / (cpuSeconds() - c0) / 1e9) * (info?.threads ?? 1),
      });
    }
    return out;
  };
  const square: TL = { label: 'SGEMM 512x896x896 (12x32 tiles)', M: 512, N: 896, K: 896, ta: false, tb: true };
  let ref = rate(square);
  let flop = 0;
  let busyS = 0;
  console.log(`threads ${info?.threads}, kernel ${addon.info().kernel}; GFLOPS per busy pool (wall)`);
  for (const s of lshapes) {
    const g = rate(s);
    ref = best(ref, rate(square)); // alternating, so that load changes hit both
    flop += 2 * s.M * s.N * s.K;
    busyS += (2 * s.M * s.N * s.K) / (g.cpu * 1e9);
    console.log(
      `| ${s.label.padEnd(20)} | ${`${s.M}x${s.N}x${s.K}`.padEnd(12)} | ${g.cpu.toFixed(0).padStart(4)} (${g.wall.toFixed(0)}) |`,
    );
  }
  console.log(`LoRA products of the three linears together: ${(flop / busyS / 1e9).toFixed(0)} GFLOPS per busy pool`);
  console.log(`${square.label}: ${ref.cpu.toFixed(0)} per busy pool (${ref.wall.toFixed(0)} wall)`);
  process.exit(0);
}

const bf16Only = process.argv.includes('--bf16-only');
const noBig = process.argv.includes('--no-big');
addon.fmaPeak(0.2); // wake the pool and the clocks
// The available compute drifts; the peak is the best of probes spread through the run.
let peak = measurePeak(seconds);
const results: { s: TShape; rate: TRate }[] = [];
for (const s of bf16Only ? [] : shapes) {
  const a = fill(s.M * s.K);
  const b = fill(s.K * s.N);
  const c = new Float32Array(s.M * s.N);
  const w = s.bf16 ? toBf16(b) : new Uint16Array(0);
  const run = () =>
    s.bf16
      ? addon.matmulBf16W(c, a, w, s.M, s.N, s.K, s.tb, 1, 0)
      : addon.matmul(c, a, b, s.M, s.N, s.K, s.ta, s.tb, 1, 0);
  const flop = 2 * s.M * s.N * s.K;
  const inner = Math.max(1, Math.round(2e10 / flop)); // ~0.1-0.2 s per timing at ~150 GFLOPS
  peak = best(peak, measurePeak(seconds / 4));
  run();
  let rate: TRate = { wall: 0, cpu: 0 };
  for (let r = 0; r < reps; r++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) run();
    const wall = (performance.now() - t0) / 1e3;
    // cpu rate scaled to all pool threads: the rate the pool would reach with its cores to itself
    rate = best(rate, {
      wall: (flop * inner) / wall / 1e9,
      cpu: ((flop * inner) / (cpuSeconds() - c0) / 1e9) * (info?.threads ?? 1),
    });
  }
  results.push({ s, rate });
}
peak = best(peak, measurePeak(seconds));

console.log(
  `threads ${info?.threads}, kernel ${addon.info().kernel}, bf16 native ${addon.info().bf16}; fp32 FMA peak ${peak.wall.toFixed(1)} GFLOPS wall, ${peak.cpu.toFixed(1)} per busy pool`,
);
const pct = (x: number, p: number): string => `${((100 * x) / p).toFixed(0)}%`;
const rows = results.map(({ s, rate }) => [
  s.label,
  `${s.M}x${s.N}x${s.K}`,
  `${s.ta ? 'T' : 'N'}${s.tb ? 'T' : 'N'}`,
  rate.wall.toFixed(1),
  pct(rate.wall, peak.wall),
  rate.cpu.toFixed(1),
  pct(rate.cpu, peak.cpu),
]);
const head = ['GEMM', 'MxNxK', 'op', 'GFLOPS wall', 'of peak', 'GFLOPS busy', 'of peak'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
if (!bf16Only) {
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

// ---- packed bf16 weights ----------------------------------------------------------------------------------------------
const cpuModel = (() => {
  try {
    const t = readFileSync('/proc/cpuinfo', 'utf8');
    const flags =
      t
        .match(/^flags\s*:(.*)$/m)?.[1]
        .trim()
        .split(/\s+/) ?? [];
    const want = ['avx2', 'avx512f', 'avx512_bf16', 'amx_tile', 'amx_bf16', 'amx_int8'];
    return { model: t.match(/^model name\s*:(.*)$/m)?.[1].trim() ?? '?', flags: want.filter((f) => flags.includes(f)) };
  } catch {
    return { model: '?', flags: [] as string[] };
  }
})();
const bf16Kernels = (['amx', 'avx512bf16', 'avx512fma', 'widened'] as TBf16Kernel[]).filter((k) =>
  addon.setBf16Kernel(k),
);
addon.setBf16Kernel('auto');
const bestOf = (run: () => void, flop: number): TRate => {
  run();
  const inner = Math.max(1, Math.round(6e10 / flop));
  let rate: TRate = { wall: 0, cpu: 0 };
  for (let r = 0; r < reps; r++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) run();
    const wall = (performance.now() - t0) / 1e3;
    rate = best(rate, {
      wall: (flop * inner) / wall / 1e9,
      cpu: ((flop * inner) / (cpuSeconds() - c0) / 1e9) * (info?.threads ?? 1),
    });
  }
  return rate;
};
const amxPeak = (): number => {
  let p = 0;
  for (let i = 0; i < 10; i++) p = Math.max(p, addon.amxPeak(0.02)); // short probes: the best is the idle machine
  return p;
};

// W [N, K] (torch Linear [out, in]); forward y[M, N] = x W^T, input gradient dX[M, K] = dY[M, N] W.
type TBShape = { label: string; M: number; N: number; K: number; transW: boolean; big?: boolean; ce?: boolean };
const bshapes: TBShape[] = [
  { label: '0.5B MLP up/gate fwd', M: 512, N: 4864, K: 896, transW: false },
  { label: '0.5B MLP up/gate dX', M: 512, N: 4864, K: 896, transW: true },
  { label: '0.5B MLP down fwd', M: 512, N: 896, K: 4864, transW: false },
  { label: '0.5B MLP down dX', M: 512, N: 896, K: 4864, transW: true },
  { label: '0.5B q/o fwd', M: 512, N: 896, K: 896, transW: false },
  { label: '0.5B q/o dX', M: 512, N: 896, K: 896, transW: true },
  { label: '0.5B decode up fwd M=1', M: 1, N: 4864, K: 896, transW: false },
  { label: '0.5B LM head fwd', M: 512, N: 151936, K: 896, transW: false, big: true },
  { label: '0.5B LM head CE+dhidden', M: 512, N: 151936, K: 896, transW: false, big: true, ce: true },
  { label: '7B MLP up/gate fwd', M: 512, N: 18944, K: 3584, transW: false, big: true },
  { label: '7B MLP up/gate dX', M: 512, N: 18944, K: 3584, transW: true, big: true },
];
const brows: string[][] = [];
// vdpbf16ps against fp32 FMAs, short probes in alternation (per busy pool: CPU time, so load hits both alike).
const dpVsFma = (): { dp: TRate; fma: TRate } => {
  let dp: TRate = { wall: 0, cpu: 0 };
  let fma: TRate = { wall: 0, cpu: 0 };
  for (let i = 0; i < 10; i++) {
    fma = best(fma, measurePeak(0.1));
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const wall = addon.dpbf16Peak(0.1);
    const flop = (wall * (performance.now() - t0)) / 1e3;
    dp = best(dp, { wall, cpu: (flop / (cpuSeconds() - c0)) * (info?.threads ?? 1) });
  }
  return { dp, fma };
};
const dpPeak = dpVsFma();
let peakAmx = amxPeak();
for (const s of bshapes) {
  if (s.big && noBig) continue;
  const [inn, out] = s.transW ? [s.N, s.K] : [s.K, s.N];
  const wf = fill(s.N * s.K).map((x) => x * 0.05);
  const packed: TPackedBf16Weight = addon.packBf16Weight(toBf16(wf), s.N, s.K);
  const a = fill(s.M * inn);
  // CE: the logits GEMM and the dhidden GEMM, 2 x 2 M N K
  const flop = (s.ce ? 4 : 2) * s.M * s.N * s.K;
  const labels = Int32Array.from({ length: s.M }, (_, i) => (i * 7919) % s.N);
  let fp32: TRate;
  if (s.ce) {
    const dh = new Float32Array(s.M * s.K);
    fp32 = bestOf(() => addon.crossEntropyLmHead(dh, null, a, wf, labels, s.M, s.K, s.N, 1), flop);
  } else {
    const c = new Float32Array(s.M * out);
    // fp32 on the same weight: x W^T is NT, dY W is NN
    fp32 = bestOf(() => addon.matmul(c, a, wf, s.M, out, inn, false, !s.transW, 1, 0), flop);
  }
  const cells = [s.label, `${s.M}x${out}x${inn}`, `${fp32.wall.toFixed(0)} (${fp32.cpu.toFixed(0)} busy)`];
  for (const k of bf16Kernels) {
    addon.setBf16Kernel(k);
    let r: TRate;
    if (s.ce) {
      const dh = new Float32Array(s.M * s.K);
      r = bestOf(() => addon.crossEntropyLmHeadBf16(dh, a, packed, labels, s.M, s.K, s.N, 1), flop);
    } else {
      const c = new Float32Array(s.M * out);
      r = bestOf(() => addon.matmulBf16Packed(c, a, packed, s.M, s.transW, 1, 0), flop);
    }
    cells.push(`${r.wall.toFixed(0)} (${r.cpu.toFixed(0)} busy, ${(r.cpu / fp32.cpu).toFixed(2)}x)`);
  }
  addon.setBf16Kernel('auto');
  addon.releaseBf16Weight(packed);
  brows.push(cells);
  peakAmx = Math.max(peakAmx, amxPeak());
}
console.log(`\nCPU: ${cpuModel.model}; flags: ${cpuModel.flags.join(' ') || 'none of avx2/avx512/amx'}`);
console.log(
  `bf16 kernel (auto): ${addon.info().bf16Kernel}; AMX: ${addon.info().amx}; AMX bf16 peak (TDPBF16PS loop, all threads) ${peakAmx.toFixed(0)} GFLOPS`,
);
if (dpPeak.dp.cpu > 0)
  console.log(
    `vdpbf16ps-only loop ${dpPeak.dp.wall.toFixed(0)} GFLOPS wall (${dpPeak.dp.cpu.toFixed(0)} per busy pool) against an FMA-only loop's ${dpPeak.fma.wall.toFixed(0)} (${dpPeak.fma.cpu.toFixed(0)}): ${(dpPeak.dp.wall / dpPeak.fma.wall).toFixed(2)}x wall, ${(dpPeak.dp.cpu / dpPeak.fma.cpu).toFixed(2)}x per busy pool (best of 10 alternating 100 ms probes)`,
  );
console.log(
  'packed bf16 weights: GFLOPS wall (GFLOPS per busy pool, its ratio to the fp32 SGEMM per busy pool on the same shape)',
);
const bhead = ['GEMM (W [N,K])', 'MxNxK (C = M x N, reduce K)', 'fp32', ...bf16Kernels];
const bw = bhead.map((h, i) => Math.max(h.length, ...brows.map((r) => r[i].length)));
const bline = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(bw[i])).join(' | ')} |`;
console.log(bline(bhead));
console.log(`|${bw.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of brows) console.log(bline(r));
