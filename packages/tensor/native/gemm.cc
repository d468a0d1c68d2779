// SGEMM: BLIS-style packing and cache blocking around register-blocked micro-kernels chosen at run time
// (AVX-512F 12x32, AVX2+FMA 6x16, portable scalar 4x8). SIMD code is compiled per function with
// __attribute__((target(...))) and picked with __builtin_cpu_supports, so the binary runs on any x86-64.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common.h"
#include "vmath.h"

#ifdef CT_X86
#include <immintrin.h>
#endif

namespace ct {
namespace {

// Micro-kernel contract: C[MR,NR] (row stride ldc) = alpha * Ap Bp + (beta == 0 ? 0 : beta * C), where Ap is the
// packed A micro-panel [kc][MR] and Bp the packed B micro-panel [kc][NR] (64-byte aligned).
using KernelFn = void (*)(i64 kc, const float* a, const float* b, float* c, i64 ldc, float alpha, float beta);

struct Kernel {
  const char* name;
  int mr, nr;
  // Cache blocking: K in steps of kc; the packed A block (mc x kc) lives in L3/L2, the packed B block (kc x nc) in
  // L2, the current A micro-panel (mr x kc) in L1.
  i64 kc, mc, nc;
  KernelFn fn;
};

#ifdef CT_X86
// ---- AVX-512F 12x32: 24 zmm accumulators + 2 B vectors + 1 broadcast ----------------------------------------------
__attribute__((target("avx512f"))) void kernel_avx512(i64 kc, const float* a, const float* b, float* c, i64 ldc,
                                                      float alpha, float beta) {
  __m512 acc[12][2];
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (i64 k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
      const __m512 av = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
    a += 12;
    b += 32;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      _mm512_storeu_ps(ci, _mm512_mul_ps(va, acc[i][0]));
      _mm512_storeu_ps(ci + 16, _mm512_mul_ps(va, acc[i][1]));
    } else {
      _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
      _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(va, acc[i][1], _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16))));
    }
  }
}

// ---- AVX2+FMA 6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast ------------------------------------------------
__attribute__((target("avx2,fma"))) void kernel_avx2(i64 kc, const float* a, const float* b, float* c, i64 ldc,
                                                     float alpha, float beta) {
  __m256 acc[6][2];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (i64 k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m256 av = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
    }
    a += 6;
    b += 16;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      _mm256_storeu_ps(ci, _mm256_mul_ps(va, acc[i][0]));
      _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, acc[i][1]));
    } else {
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, acc[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, acc[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
    }
  }
}

#endif  // CT_X86

// ---- portable 4x8 ---------------------------------------------------------------------------------------------------
void kernel_scalar(i64 kc, const float* a, const float* b, float* c, i64 ldc, float alpha, float beta) {
  float acc[4][8] = {};
  for (i64 k = 0; k < kc; k++) {
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 8; j++) acc[i][j] += a[i] * b[j];
    a += 4;
    b += 8;
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++)
      c[i * ldc + j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[i * ldc + j];
}

const Kernel kScalar{"scalar", 4, 8, 256, 1200, 256, kernel_scalar};
#ifdef CT_X86
const Kernel kAvx512{"avx512", 12, 32, 384, 1200, 320, kernel_avx512};
const Kernel kAvx2{"avx2", 6, 16, 384, 1200, 320, kernel_avx2};
bool has_avx512() { return __builtin_cpu_supports("avx512f"); }
bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
const Kernel kAvx512 = kScalar, kAvx2 = kScalar;
bool has_avx512() { return false; }
bool has_avx2() { return false; }
#endif

}  // namespace

#ifdef CT_X86
// (declared in common.h) the AVX-512F 12x32 micro-kernel, for GEMMs that pack their own operands (bf16w.cc).
void sgemm_kernel_12x32(i64 kc, const float* a, const float* b, float* c, i64 ldc, float alpha, float beta) {
  kernel_avx512(kc, a, b, c, ldc, alpha, beta);
}
#endif

namespace {

Kernel pick_auto() {
#ifdef CT_X86
  __builtin_cpu_init();
#endif
  Kernel k = has_avx512() ? kAvx512 : has_avx2() ? kAvx2 : kScalar;
  // Tuning knobs for benchmarks only; the defaults are what the bench measured best here.
  if (const char* e = std::getenv("CRUCIBLE_GEMM_KC")) k.kc = std::max(16, std::atoi(e));
  if (const char* e = std::getenv("CRUCIBLE_GEMM_MC")) k.mc = std::max(k.mr, std::atoi(e) / k.mr * k.mr);
  if (const char* e = std::getenv("CRUCIBLE_GEMM_NC")) k.nc = std::max(k.nr, std::atoi(e) / k.nr * k.nr);
  return k;
}

Kernel g_kernel = pick_auto();

// Packing reads the source along its contiguous dimension in long runs (a strided walk with short runs costs a TLB
// miss per row: it made packing ~15% of a GEMM), and writes panels that stay in L1/L2.

// Pack op(A)[i0:i0+mc, p0:p0+kc] into micro-panels [mc/MR][kc][MR], zero-padding the last panel's rows.
void pack_a(const Gemm& g, i64 i0, i64 mc, i64 p0, i64 kc, int MR, float* dst) {
  if (g.ta) {  // op(A)[i,k] = A[k*lda + i]: each k is one contiguous run of mc floats, spread over the panels
    for (i64 k = 0; k < kc; k++) {
      const float* s = g.A + (p0 + k) * g.lda + i0;
      for (i64 ir = 0; ir < mc; ir += MR) {
        const int mr = static_cast<int>(std::min<i64>(MR, mc - ir));
        float* dk = dst + ir * kc + k * MR;
        for (int i = 0; i < mr; i++) dk[i] = s[ir + i];
        for (int i = mr; i < MR; i++) dk[i] = 0.0f;
      }
    }
    return;
  }
  for (i64 ir = 0; ir < mc; ir += MR) {  // op(A)[i,k] = A[i*lda + k]: MR rows read along k
    const int mr = static_cast<int>(std::min<i64>(MR, mc - ir));
    float* d = dst + ir * kc;
    for (int i = 0; i < mr; i++) {
      const float* s = g.A + (i0 + ir + i) * g.lda + p0;
      for (i64 k = 0; k < kc; k++) d[k * MR + i] = s[k];
    }
    for (int i = mr; i < MR; i++)
      for (i64 k = 0; k < kc; k++) d[k * MR + i] = 0.0f;
  }
}

bool g_avx_transpose = false;  // set with the kernel: AVX is there whenever an AVX2/AVX-512 kernel is

// Pack op(B)[p0:p0+kc, j0:j0+nc] into micro-panels [nc/NR][kc][NR], zero-padding the last panel's columns.
void pack_b(const Gemm& g, i64 p0, i64 kc, i64 j0, i64 nc, int NR, float* dst) {
  if (!g.tb) {  // op(B)[k,j] = B[k*ldb + j]: each k is one contiguous run of nc floats, spread over the panels
    for (i64 k = 0; k < kc; k++) {
      const float* s = g.B + (p0 + k) * g.ldb + j0;
      for (i64 jr = 0; jr < nc; jr += NR) {
        const int nr = static_cast<int>(std::min<i64>(NR, nc - jr));
        float* dk = dst + jr * kc + k * NR;
        if (nr == NR) std::memcpy(dk, s + jr, sizeof(float) * NR);
        else {
          for (int j = 0; j < nr; j++) dk[j] = s[jr + j];
          for (int j = nr; j < NR; j++) dk[j] = 0.0f;
        }
      }
    }
    return;
  }
  // op(B)[k,j] = B[j*ldb + k]: a transpose, by 8x8 blocks with AVX where possible
  for (i64 jr = 0; jr < nc; jr += NR) {
    const int nr = static_cast<int>(std::min<i64>(NR, nc - jr));
    float* d = dst + jr * kc;
    const float* src = g.B + (j0 + jr) * g.ldb + p0;
    int jdone = 0;
    i64 kdone = 0;
#ifdef CT_X86
    if (g_avx_transpose) {
      jdone = nr / 8 * 8;
      kdone = kc / 8 * 8;
      for (i64 k0 = 0; k0 < kdone; k0 += 8)
        for (int jj = 0; jj < jdone; jj += 8) transpose8x8(src + jj * g.ldb + k0, g.ldb, d + k0 * NR + jj, NR);
    }
#endif
    for (int j = 0; j < nr; j++) {  // the remainders: columns past jdone for all k, rows past kdone for the rest
      const float* s = src + j * g.ldb;
      for (i64 k = j < jdone ? kdone : 0; k < kc; k++) d[k * NR + j] = s[k];
    }
    for (int j = nr; j < NR; j++)
      for (i64 k = 0; k < kc; k++) d[k * NR + j] = 0.0f;
  }
}

void scale_c(const Gemm& g) {
  for (i64 i = 0; i < g.M; i++) {
    float* c = g.C + i * g.ldc;
    for (i64 j = 0; j < g.N; j++) c[j] = g.beta == 0.0f ? 0.0f : g.beta * c[j];
  }
}

}  // namespace

#ifdef CT_X86
// (declared in common.h) 8 rows x 8 columns of a row-major source (row stride ld) written transposed: out row c =
// source column c, rows of out NR floats apart.
__attribute__((target("avx2"))) void transpose8x8(const float* src, i64 ld, float* out, int NR) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * ld),
               r3 = _mm256_loadu_ps(src + 3 * ld), r4 = _mm256_loadu_ps(src + 4 * ld),
               r5 = _mm256_loadu_ps(src + 5 * ld), r6 = _mm256_loadu_ps(src + 6 * ld),
               r7 = _mm256_loadu_ps(src + 7 * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
               s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
               s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
               s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
               s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)),
               s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
               s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)),
               s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(out + 0 * NR, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * NR, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * NR, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * NR, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * NR, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * NR, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * NR, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * NR, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#endif  // CT_X86

void gemm_st(const Gemm& g, int tid) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0 || g.alpha == 0.0f) {
    scale_c(g);
    return;
  }
  const Kernel& kn = g_kernel;
  const int MR = kn.mr, NR = kn.nr;
  const i64 KC = kn.kc, MC = kn.mc, NC = kn.nc;
  float* ap = scratch(tid, kPackA, static_cast<size_t>(std::min(MC, (g.M + MR - 1) / MR * MR)) * KC);
  float* bp = scratch(tid, kPackB, static_cast<size_t>(NC) * KC);
  float* tile = scratch(tid, kTile, static_cast<size_t>(MR) * NR);
  // Loop order of BLIS's column-major kernels mirrored for row-major C: the A micro-panel (MR x kc) is the one that
  // stays in L1 while the B micro-panels of the packed B block (kc x NC, sized for L2) stream past it.
  for (i64 ic = 0; ic < g.M; ic += MC) {
    const i64 mc = std::min(MC, g.M - ic);
    for (i64 pc = 0; pc < g.K; pc += KC) {
      const i64 kc = std::min(KC, g.K - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;  // later K blocks accumulate onto the first
      pack_a(g, ic, mc, pc, kc, MR, ap);
      for (i64 jc = 0; jc < g.N; jc += NC) {
        const i64 nc = std::min(NC, g.N - jc);
        pack_b(g, pc, kc, jc, nc, NR, bp);
        for (i64 ir = 0; ir < mc; ir += MR) {
          const i64 mr = std::min<i64>(MR, mc - ir);
          for (i64 jr = 0; jr < nc; jr += NR) {
            const i64 nr = std::min<i64>(NR, nc - jr);
            float* c = g.C + (ic + ir) * g.ldc + jc + jr;
            if (mr == MR && nr == NR) {
              kn.fn(kc, ap + ir * kc, bp + jr * kc, c, g.ldc, g.alpha, beta);
            } else {  // edge tile: full tile into scratch, then merge the valid part
              kn.fn(kc, ap + ir * kc, bp + jr * kc, tile, NR, 1.0f, 0.0f);
              for (i64 i = 0; i < mr; i++)
                for (i64 j = 0; j < nr; j++) {
                  float& d = c[i * g.ldc + j];
                  d = beta == 0.0f ? g.alpha * tile[i * NR + j] : g.alpha * tile[i * NR + j] + beta * d;
                }
            }
          }
        }
      }
    }
  }
}

GemmGrid gemm_grid(i64 M, i64 N, i64 K, int mr, int nr) {
  int nt = pool_threads();
  const double work = static_cast<double>(M) * N * std::max<i64>(K, 1);
  if (work < 64.0 * 64 * 64) nt = 1;  // below ~0.5 MFLOP a pool wake costs more than it saves
  const i64 mp = (M + mr - 1) / mr, np = (N + nr - 1) / nr;  // micro-panels per dimension
  if (nt > 1 && mp * np < nt) nt = static_cast<int>(std::max<i64>(1, mp * np));
  GemmGrid gr{1, 1, 1, M, N};
  if (nt <= 1) return gr;
  // Grid tm x tn = nt: each thread packs its own rows of A and columns of B; minimise that packing (and keep tiles
  // near square) while every tile keeps at least one micro-panel per dimension.
  int tm = 1, tn = nt;
  double best = 1e300;
  for (int d = 1; d <= nt; d++) {
    if (nt % d) continue;
    const int e = nt / d;
    if (d > mp || e > np) continue;
    const double cost = static_cast<double>(M) / d + static_cast<double>(N) / e;
    if (cost < best) best = cost, tm = d, tn = e;
  }
  if (best == 1e300) tm = 1, tn = static_cast<int>(std::min<i64>(np, nt)), nt = tn;
  return GemmGrid{nt, tm, tn, (mp + tm - 1) / tm * mr, (np + tn - 1) / tn * nr};
}

// ---- small M (token-by-token decoding: logits = h W^T with M = 1) ---------------------------------------------------
// The packed GEMM would use 1 of 12 tile rows and copy all of B first; instead read B once, straight from its
// layout: dot products along contiguous rows of B (tb) or axpy over its rows (not tb). Memory-bound, as it must be.
namespace {
#ifdef CT_X86
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, i64 n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  i64 k = 0;
  for (; k + 32 <= n; k += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 16), _mm256_loadu_ps(b + k + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 24), _mm256_loadu_ps(b + k + 24), s3);
  }
  for (; k + 8 <= n; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
  float t[8];
  _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  float s = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
  for (; k < n; k++) s += a[k] * b[k];
  return s;
}
#endif  // CT_X86
float dot_scalar(const float* a, const float* b, i64 n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  i64 k = 0;
  for (; k + 4 <= n; k += 4) s0 += a[k] * b[k], s1 += a[k + 1] * b[k + 1], s2 += a[k + 2] * b[k + 2], s3 += a[k + 3] * b[k + 3];
  for (; k < n; k++) s0 += a[k] * b[k];
  return (s0 + s1) + (s2 + s3);
}
#ifdef CT_X86
__attribute__((target("avx2,fma"))) void axpy_avx2(float* y, float a, const float* x, i64 n) {
  const __m256 va = _mm256_set1_ps(a);
  i64 j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
  for (; j < n; j++) y[j] += a * x[j];
}
#endif  // CT_X86
void axpy_scalar(float* y, float a, const float* x, i64 n) {
  for (i64 j = 0; j < n; j++) y[j] += a * x[j];
}
#ifndef CT_X86
// Never called (g_avx_transpose stays false without x86 SIMD); keeps the call sites free of #ifdefs.
float dot_avx2(const float* a, const float* b, i64 n) { return dot_scalar(a, b, n); }
void axpy_avx2(float* y, float a, const float* x, i64 n) { axpy_scalar(y, a, x, n); }
#endif

constexpr i64 kSmallM = 4;

void gemm_small_m(const Gemm& g) {
  const bool simd = g_avx_transpose;
  // Rows of op(A), contiguous (gathered when A is stored transposed).
  const float* arows[kSmallM];
  float* gathered = g.ta ? scratch(0, kSmall, static_cast<size_t>(g.M * g.K)) : nullptr;
  for (i64 i = 0; i < g.M; i++) {
    if (g.ta) {
      for (i64 k = 0; k < g.K; k++) gathered[i * g.K + k] = g.A[k * g.lda + i];
      arows[i] = gathered + i * g.K;
    } else {
      arows[i] = g.A + i * g.lda;
    }
  }
  auto finish = [&](float* c, float acc) { *c = g.beta == 0.0f ? g.alpha * acc : g.alpha * acc + g.beta * *c; };
  const i64 grain = std::max<i64>(8, (1 << 16) / std::max<i64>(g.K, 1));
  if (g.tb) {  // op(B)[k,j] = B[j*ldb + k]: C[i,j] = alpha a_i . B_j
    parallel_for(g.N, grain, [&](i64 j0, i64 j1, int) {
      for (i64 j = j0; j < j1; j++) {
        const float* bj = g.B + j * g.ldb;
        for (i64 i = 0; i < g.M; i++) finish(g.C + i * g.ldc + j, simd ? dot_avx2(arows[i], bj, g.K) : dot_scalar(arows[i], bj, g.K));
      }
    });
  } else {  // op(B)[k,j] = B[k*ldb + j]: C[i, j0:j1] = beta C + alpha sum_k a_i[k] B[k, j0:j1]
    parallel_for(g.N, std::max<i64>(grain, 64), [&](i64 j0, i64 j1, int) {
      for (i64 i = 0; i < g.M; i++) {
        float* ci = g.C + i * g.ldc;
        for (i64 j = j0; j < j1; j++) ci[j] = g.beta == 0.0f ? 0.0f : g.beta * ci[j];
      }
      for (i64 k = 0; k < g.K; k++) {
        const float* bk = g.B + k * g.ldb + j0;
        for (i64 i = 0; i < g.M; i++) {
          const float a = g.alpha * arows[i][k];
          if (simd) axpy_avx2(g.C + i * g.ldc + j0, a, bk, j1 - j0);
          else axpy_scalar(g.C + i * g.ldc + j0, a, bk, j1 - j0);
        }
      }
    });
  }
}
}  // namespace

// ---- skinny products (LoRA: r = 8..32 columns or rows) ------------------------------------------------------------
// x A^T, dY^T h and dY B have N = r; dA = dh^T x has M = r. The 12x32 packed tile wastes half or more of itself on
// N = 16 and packs a whole operand for little work, so these run on a kernel of MS rows x NV 16-column vectors (24x16
// or 12x32: 24 zmm accumulators) that broadcasts op(A) straight from its layout and reads op(B) from one small packed
// copy [K][16 NV]. M = r is the same product transposed: C^T = op(B)^T op(A)^T with the output written transposed.
// A transposed op(A) ([K][M] in memory) is walked in chunks of kSkinnyKC rows across all row blocks, so it streams
// through as a few sequential runs instead of down a column; partial sums live in a small row-major buffer. An
// untransposed op(A) is read as MS sequential rows per block, whole K at once.
// Threads split the row blocks, never K: results do not depend on the thread count.
#ifdef CT_X86
namespace {
constexpr i64 kSkinnyKC = 16;

// acc[MS][NV] (+)= sum over kc of op(A)[i, k] * bp[k][16 NV]: op(A)[i, k] = a[i * sa + k * sk].
template <int NV>
__attribute__((target("avx512f"))) void skinny_kernel(i64 kc, const float* a, i64 sa, i64 sk, const float* bp,
                                                      float* acc, bool first) {
  constexpr int MS = NV == 1 ? 24 : 12;
  __m512 c[MS][NV];
#pragma GCC unroll 24
  for (int i = 0; i < MS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) c[i][v] = first ? _mm512_setzero_ps() : _mm512_load_ps(acc + (i * NV + v) * 16);
  for (i64 k = 0; k < kc; k++) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(bp + k * 16 * NV + 16 * v);
    const float* ak = a + k * sk;
#pragma GCC unroll 24
    for (int i = 0; i < MS; i++) {
      const __m512 av = _mm512_set1_ps(ak[i * sa]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(av, b[v], c[i][v]);
    }
  }
#pragma GCC unroll 24
  for (int i = 0; i < MS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) _mm512_store_ps(acc + (i * NV + v) * 16, c[i][v]);
}

// C[M, N] = alpha op(A) op(B) + beta C with N <= 16 NV; transC: C is stored transposed (C[j * ldc + i]).
template <int NV>
void gemm_skinny(const Gemm& g, bool transC) {
  constexpr int MS = NV == 1 ? 24 : 12, W = 16 * NV;
  const i64 M = g.M, N = g.N, K = g.K, nb = (M + MS - 1) / MS;
  // op(B) -> bp[K][W], zero-padded columns.
  float* bp = scratch(0, kSkinnyB, static_cast<size_t>(K * W));
  if (g.tb) {  // op(B)[k, j] = B[j * ldb + k]
    const i64 kdone = K / 8 * 8, jdone = N / 8 * 8;
    for (i64 k0 = 0; k0 < kdone; k0 += 8)
      for (i64 j0 = 0; j0 < jdone; j0 += 8) transpose8x8(g.B + j0 * g.ldb + k0, g.ldb, bp + k0 * W + j0, W);
    for (i64 k = 0; k < K; k++)
      for (i64 j = k < kdone ? jdone : 0; j < W; j++) bp[k * W + j] = j < N ? g.B[j * g.ldb + k] : 0.0f;
  } else {
    for (i64 k = 0; k < K; k++) {
      std::memcpy(bp + k * W, g.B + k * g.ldb, sizeof(float) * N);
      for (i64 j = N; j < W; j++) bp[k * W + j] = 0.0f;
    }
  }
  // Partial sums of every row block, [nb][MS][W].
  float* acc = scratch(0, kSkinnyAcc, static_cast<size_t>(nb * MS * W));
  // op(A)[i, k] = A[i * lda + k] or, ta, A[k * lda + i]: element strides along i and k.
  const i64 si = g.ta ? 1 : g.lda, sk = g.ta ? g.lda : 1;
  const i64 kc0 = g.ta ? kSkinnyKC : K;
  const i64 grain = std::max<i64>(1, (1 << 18) / std::max<i64>(MS * K * W, 1));
  parallel_for(nb, grain, [&](i64 b0, i64 b1, int tid) {
    // The last block, when ragged, reads a zero-padded copy of its rows [K][MS].
    const i64 tailRows = M - (nb - 1) * MS;
    float* tail = nullptr;
    if (b1 == nb && tailRows < MS) {
      tail = scratch(tid, kSkinnyTail, static_cast<size_t>(K * MS));
      for (i64 k = 0; k < K; k++)
        for (i64 i = 0; i < MS; i++) tail[k * MS + i] = i < tailRows ? g.A[((nb - 1) * MS + i) * si + k * sk] : 0.0f;
    }
    for (i64 k0 = 0; k0 < K; k0 += kc0) {
      const i64 kc = std::min(kc0, K - k0);
      for (i64 b = b0; b < b1; b++) {
        float* ab = acc + b * MS * W;
        if (tail && b == nb - 1) skinny_kernel<NV>(kc, tail + k0 * MS, 1, MS, bp + k0 * W, ab, k0 == 0);
        else skinny_kernel<NV>(kc, g.A + b * MS * si + k0 * sk, si, sk, bp + k0 * W, ab, k0 == 0);
      }
    }
    for (i64 b = b0; b < b1; b++) {
      const float* ab = acc + b * MS * W;
      const i64 rows = std::min<i64>(MS, M - b * MS);
      for (i64 i = 0; i < rows; i++)
        for (i64 j = 0; j < N; j++) {
          float& d = transC ? g.C[j * g.ldc + b * MS + i] : g.C[(b * MS + i) * g.ldc + j];
          const float v = g.alpha * ab[i * W + j];
          d = g.beta == 0.0f ? v : v + g.beta * d;
        }
    }
  });
}

// CRUCIBLE_GEMM_SKINNY=0 sends skinny products to the packed 12x32 path: a knob for benchmarks only (before/after).
const bool g_skinny_on = [] {
  const char* e = std::getenv("CRUCIBLE_GEMM_SKINNY");
  return !(e && std::strcmp(e, "0") == 0);
}();

// Which skinny form applies (0: none, 1: N small, 2: M small, by the transposed product).
int skinny_form(const Gemm& g) {
  if (!g_skinny_on || std::strcmp(g_kernel.name, "avx512") != 0 || g.K < 16 || g.alpha == 0.0f) return 0;
  if (g.N <= 32 && g.M >= 48) return 1;
  if (g.M <= 32 && g.M > kSmallM && g.N >= 48) return 2;
  return 0;
}

void gemm_skinny_any(const Gemm& g) {
  Gemm s = g;
  bool transC = false;
  if (skinny_form(g) == 2) {  // C^T[N, M] = op(B)^T op(A)^T
    s = Gemm{!g.tb, !g.ta, g.N, g.M, g.K, g.alpha, g.B, g.ldb, g.A, g.lda, g.beta, g.C, g.ldc};
    transC = true;
  }
  if (s.N <= 16) gemm_skinny<1>(s, transC);
  else gemm_skinny<2>(s, transC);
}
}  // namespace
#endif  // CT_X86

void gemm_mt(const Gemm& g) {
  if (g.M >= 1 && g.M <= kSmallM && g.N > 0 && g.K > 0 && g.alpha != 0.0f) {
    gemm_small_m(g);
    return;
  }
#ifdef CT_X86
  if (skinny_form(g)) {
    gemm_skinny_any(g);
    return;
  }
#endif
  const Kernel& kn = g_kernel;
  const GemmGrid gr = gemm_grid(g.M, g.N, g.K, kn.mr, kn.nr);
  if (gr.nt <= 1) {
    gemm_st(g, 0);
    return;
  }
  auto body = [&](int tid) {
    const i64 i0 = (tid / gr.tn) * gr.rows, j0 = (tid % gr.tn) * gr.cols;
    if (i0 >= g.M || j0 >= g.N) return;
    Gemm s = g;
    s.M = std::min(gr.rows, g.M - i0);
    s.N = std::min(gr.cols, g.N - j0);
    s.A = g.ta ? g.A + i0 : g.A + i0 * g.lda;
    s.B = g.tb ? g.B + j0 * g.ldb : g.B + j0;
    s.C = g.C + i0 * g.ldc + j0;
    gemm_st(s, tid);
  };
  run_threads(gr.nt, body);
}

const char* gemm_kernel_name() { return g_kernel.name; }
bool gemm_simd_transpose() { return g_avx_transpose; }

namespace {
// Runs at load (static init, after g_kernel) so the transposing packer matches the initial kernel.
const bool g_transpose_init = (g_avx_transpose = std::strcmp(g_kernel.name, "scalar") != 0, true);
[[maybe_unused]] const bool g_transpose_init_used = g_transpose_init;
}  // namespace

// Switches the GEMM micro-kernel and the vectorised exp loops together (vmath.cc).
bool gemm_set_kernel(const char* name) {
#ifdef CT_X86
  __builtin_cpu_init();
#endif
  if (!std::strcmp(name, "auto")) g_kernel = pick_auto();
  else if (!std::strcmp(name, "avx512") && has_avx512()) g_kernel = kAvx512;
  else if (!std::strcmp(name, "avx2") && has_avx2()) g_kernel = kAvx2;
  else if (!std::strcmp(name, "scalar")) g_kernel = kScalar;
  else return false;
  const char* k = g_kernel.name;
  g_avx_transpose = std::strcmp(k, "scalar") != 0;
  vmath_select(!std::strcmp(k, "avx512") ? 2 : !std::strcmp(k, "avx2") ? 1 : 0);
  return true;
}

// ---- FMA peak ------------------------------------------------------------------------------------------------------
namespace {
#ifdef CT_X86
// 16 independent accumulator chains hide the 4-cycle FMA latency on 2 pipes; returns FLOPs done.
__attribute__((target("avx512f"))) double fma_loop_avx512(i64 iters) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (i64 it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return static_cast<double>(iters) * 16 * 16 * 2;
}
__attribute__((target("avx2,fma"))) double fma_loop_avx2(i64 iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (i64 it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return static_cast<double>(iters) * 12 * 8 * 2;
}
#else
double fma_loop_avx512(i64) { return 0; }
double fma_loop_avx2(i64) { return 0; }
#endif
// Portable: 16 independent scalar chains (what the scalar kernel can reach at best).
double fma_loop_scalar(i64 iters) {
  float acc[16];
  for (int i = 0; i < 16; i++) acc[i] = static_cast<float>(i) * 1e-3f;
  for (i64 it = 0; it < iters; it++)
    for (int i = 0; i < 16; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float s = 0;
  for (int i = 0; i < 16; i++) s += acc[i];
  volatile float sink = s;
  (void)sink;
  return static_cast<double>(iters) * 16 * 2;
}
}  // namespace

double fma_peak_gflops(double seconds) {
  const int nt = pool_threads();
  const int level = !std::strcmp(g_kernel.name, "avx512") ? 2 : !std::strcmp(g_kernel.name, "avx2") ? 1 : 0;
  double* rates = static_cast<double*>(std::malloc(sizeof(double) * nt));
  auto body = [&](int tid) {
    using clk = std::chrono::steady_clock;
    const auto t0 = clk::now();
    double flops = 0, el = 0;
    do {
      flops += level == 2 ? fma_loop_avx512(1 << 20) : level == 1 ? fma_loop_avx2(1 << 20) : fma_loop_scalar(1 << 18);
      el = std::chrono::duration<double>(clk::now() - t0).count();
    } while (el < seconds);
    rates[tid] = flops / el;
  };
  run_threads(nt, body);
  double total = 0;
  for (int t = 0; t < nt; t++) total += rates[t];
  std::free(rates);
  return total * 1e-9;
}

}  // namespace ct
