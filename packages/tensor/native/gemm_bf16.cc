// fp32 activations x bf16 frozen weights, fp32 accumulation (the LoRA base weights): AVX-512 BF16 vdpbf16ps 12x32
// micro-kernel over k-pairs, with the same blocking and loop order as the fp32 SGEMM in gemm.cc. A is rounded to bf16
// (nearest even) while it is packed. Where vdpbf16ps is not the bf16 kernel of choice (Intel cores without AMX) the
// weight is packed into scratch for the avx512fma kernel (bf16w.cc); on CPUs without AVX-512 both operands are
// widened to fp32 (A still rounded through bf16 first) and the fp32 SGEMM runs, so every CPU computes the same products.
#include <algorithm>
#include <cstring>

#include "bf16w.h"
#include "common.h"

#ifdef CT_BF16
#include <immintrin.h>
#endif

namespace ct {
namespace {

constexpr int MR = 12, NR = 32;
constexpr i64 KC = 384, MC = 1200, NC = 320;  // KC even: k-pairs never straddle a block

inline uint16_t bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays a quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16_to_f32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

#ifdef CT_BF16
// 32 floats -> 16 bf16 pairs (element 2q in the low half of pair q). Hardware RNE; denormal inputs become zero.
__attribute__((target("avx512f,avx512bf16"))) void cvt32(const float* src, uint32_t* out) {
  const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
  _mm512_store_si512(out, (__m512i)v);
}

// A[i0:i0+mc, p0:p0+kc] (row-major, lda) -> micro-panels [mc/MR][kp][MR] of bf16 pairs (k even low, k odd high).
// Only called on CPUs with AVX-512 BF16 (the native path).
void pack_a(const float* A, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, uint32_t* dst) {
  const i64 kp = (kc + 1) / 2, full = kc / 2;
  for (i64 ir = 0; ir < mc; ir += MR) {
    const int mr = static_cast<int>(std::min<i64>(MR, mc - ir));
    uint32_t* d = dst + ir * kp;
    for (int i = 0; i < mr; i++) {
      const float* row = A + (i0 + ir + i) * lda + p0;
      const i64 vdone = full / 16 * 16;  // 32 floats -> 16 pairs per vcvtne2ps2bf16 (round to nearest even)
      for (i64 p = 0; p < vdone; p += 16) {
        alignas(64) uint32_t t[16];
        cvt32(row + 2 * p, t);
        for (int q = 0; q < 16; q++) d[(p + q) * MR + i] = t[q];
      }
      for (i64 p = vdone; p < full; p++)
        d[p * MR + i] = static_cast<uint32_t>(bf16_rne(row[2 * p])) | (static_cast<uint32_t>(bf16_rne(row[2 * p + 1])) << 16);
      if (kp > full) d[full * MR + i] = bf16_rne(row[2 * full]);
    }
    for (int i = mr; i < MR; i++)
      for (i64 p = 0; p < kp; p++) d[p * MR + i] = 0;
  }
}

// Pairs of rows (k, k+1) of W [K,N] interleaved into 16 uint32 (lo = row k) per step.
__attribute__((target("avx2"))) void interleave16(const uint16_t* r0, const uint16_t* r1, uint32_t* out) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1));
  const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);  // per 128-bit lane
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// op(W)[p0:p0+kc, j0:j0+nc] -> micro-panels [nc/NR][kp][NR] of bf16 pairs. tb: W is [N,K] (ldw = K), else [K,N].
// Only ever called on a CPU with AVX-512 BF16, so the AVX2 helpers are always available here.
void pack_b(bool tb, const uint16_t* W, i64 ldw, i64 p0, i64 kc, i64 j0, i64 nc, uint32_t* dst) {
  const i64 kp = (kc + 1) / 2, full = kc / 2;
  for (i64 jr = 0; jr < nc; jr += NR) {
    const int nr = static_cast<int>(std::min<i64>(NR, nc - jr));
    uint32_t* d = dst + jr * kp;
    if (tb) {
      // A row of W holds the k-pairs of one output column contiguously: a 32-bit transpose when rows hold whole
      // pairs (ldw even), by 8x8 blocks.
      int jdone = 0;
      i64 pdone = 0;
      if (ldw % 2 == 0) {
        jdone = nr / 8 * 8;
        pdone = full / 8 * 8;
        for (i64 q = 0; q < pdone; q += 8)
          for (int jj = 0; jj < jdone; jj += 8)
            transpose8x8(reinterpret_cast<const float*>(W + (j0 + jr + jj) * ldw + p0 + 2 * q), ldw / 2,
                         reinterpret_cast<float*>(d + q * NR + jj), NR);
      }
      for (int j = 0; j < nr; j++) {
        const uint16_t* row = W + (j0 + jr + j) * ldw + p0;
        for (i64 p = j < jdone ? pdone : 0; p < full; p++)
          d[p * NR + j] = static_cast<uint32_t>(row[2 * p]) | (static_cast<uint32_t>(row[2 * p + 1]) << 16);
        if (kp > full) d[full * NR + j] = row[2 * full];
      }
    } else {
      const int jdone = nr / 16 * 16;
      for (i64 p = 0; p < kp; p++) {
        const uint16_t* r0 = W + (p0 + 2 * p) * ldw + j0 + jr;
        uint32_t* dp = d + p * NR;
        if (p < full) {
          const uint16_t* r1 = r0 + ldw;
          for (int jj = 0; jj < jdone; jj += 16) interleave16(r0 + jj, r1 + jj, dp + jj);
          for (int j = jdone; j < nr; j++) dp[j] = static_cast<uint32_t>(r0[j]) | (static_cast<uint32_t>(r1[j]) << 16);
        } else {
          for (int j = 0; j < nr; j++) dp[j] = r0[j];  // odd K: the last pair's high half is zero
        }
      }
    }
    for (int j = nr; j < NR; j++)
      for (i64 p = 0; p < kp; p++) d[p * NR + j] = 0;
  }
}

__attribute__((target("avx512f,avx512bf16"))) void kernel_bf16(i64 kp, const uint32_t* a, const uint32_t* b, float* c,
                                                                 i64 ldc, float alpha, float beta) {
  __m512 acc[12][2];
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (i64 p = 0; p < kp; p++) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
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

struct Sub {
  bool tb;
  i64 M, N, K;
  float alpha;
  const float* A;  // [M, K] rows of the full A (lda = ldaFull)
  i64 lda;
  const uint16_t* W;
  i64 ldw;
  float beta;
  float* C;
  i64 ldc;
};

void bf16_st(const Sub& g, int tid) {
  uint32_t* ap = reinterpret_cast<uint32_t*>(scratch(tid, kPackA, static_cast<size_t>(std::min(MC, (g.M + MR - 1) / MR * MR)) * (KC / 2)));
  uint32_t* bp = reinterpret_cast<uint32_t*>(scratch(tid, kPackB, static_cast<size_t>(NC) * (KC / 2)));
  float* tile = scratch(tid, kTile, static_cast<size_t>(MR) * NR);
  for (i64 ic = 0; ic < g.M; ic += MC) {
    const i64 mc = std::min(MC, g.M - ic);
    for (i64 pc = 0; pc < g.K; pc += KC) {
      const i64 kc = std::min(KC, g.K - pc), kp = (kc + 1) / 2;
      const float beta = pc == 0 ? g.beta : 1.0f;
      pack_a(g.A, g.lda, ic, mc, pc, kc, ap);
      for (i64 jc = 0; jc < g.N; jc += NC) {
        const i64 nc = std::min(NC, g.N - jc);
        pack_b(g.tb, g.W, g.ldw, pc, kc, jc, nc, bp);
        for (i64 ir = 0; ir < mc; ir += MR) {
          const i64 mr = std::min<i64>(MR, mc - ir);
          for (i64 jr = 0; jr < nc; jr += NR) {
            const i64 nr = std::min<i64>(NR, nc - jr);
            float* c = g.C + (ic + ir) * g.ldc + jc + jr;
            if (mr == MR && nr == NR) {
              kernel_bf16(kp, ap + ir * kp, bp + jr * kp, c, g.ldc, g.alpha, beta);
            } else {
              kernel_bf16(kp, ap + ir * kp, bp + jr * kp, tile, NR, 1.0f, 0.0f);
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

#endif  // CT_BF16

// Widen both operands (A through bf16) and run the fp32 SGEMM: the portable path with the same products. W is
// widened in blocks of output columns so the scratch stays small even for an LM-head-sized weight.
void bf16_fallback(bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, const uint16_t* W, float beta, float* C) {
  float* a = scratch(0, kOp0, static_cast<size_t>(std::max<i64>(M * K, 1)));
  parallel_for(M * K, 1 << 15, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++) a[i] = bf16_to_f32(bf16_rne(A[i]));
  });
  const i64 block = std::max<i64>(64, (i64(1) << 22) / std::max<i64>(K, 1));  // ~16 MB of widened weight
  float* w = scratch(0, kOp1, static_cast<size_t>(std::max<i64>(std::min(block, N) * K, 1)));
  for (i64 n0 = 0; n0 < N; n0 += block) {
    const i64 nc = std::min(block, N - n0);
    if (tb) {  // rows n0..n0+nc of W [N,K] are contiguous
      const uint16_t* src = W + n0 * K;
      parallel_for(nc * K, 1 << 15, [&](i64 b, i64 e, int) {
        for (i64 i = b; i < e; i++) w[i] = bf16_to_f32(src[i]);
      });
    } else {  // columns n0..n0+nc of W [K,N] into a [K, nc] block
      parallel_for(K, 64, [&](i64 b, i64 e, int) {
        for (i64 k = b; k < e; k++)
          for (i64 j = 0; j < nc; j++) w[k * nc + j] = bf16_to_f32(W[k * N + n0 + j]);
      });
    }
    gemm_mt(Gemm{false, tb, M, nc, K, alpha, a, K, w, tb ? K : nc, beta, C + n0, N});
  }
}

}  // namespace

// vdpbf16ps here only where it is the packed kernels' choice too (AMD; AMX machines keep it for unpacked weights):
// on Intel cores without AMX it runs at half the FMA rate (bf16w.cc), and the weight goes through avx512fma instead.
bool gemm_bf16_native() {
#ifdef CT_BF16
  __builtin_cpu_init();
  const Bf16Kernel k = bf16_kernel();
  return !std::strcmp(gemm_kernel_name(), "avx512") && __builtin_cpu_supports("avx512bf16") &&
         (k == kBf16Avx512 || k == kBf16Amx);
#else
  return false;
#endif
}

namespace {
// The unpacked weight packed into scratch (O(N K), against O(M N K) multiply-adds) for the avx512fma kernel: x W^T
// (tb) packs W [N, K] for the forward use; x W packs W [K, N] as stored, for the transposed use.
void bf16_via_packed(bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, const uint16_t* W, float beta,
                     float* C) {
  const i64 rows = tb ? N : K, cols = tb ? K : N;
  PackedW P{rows, cols, (rows + 15) / 16, (cols + 31) / 32, nullptr, 0};
  P.bytes = static_cast<size_t>(P.Nt * P.Kt) * 1024;
  P.data = reinterpret_cast<uint32_t*>(scratch(0, kOp1, P.bytes / 4));
  packed_pack(P, W);
  gemm_bf16p_fp32fma(Bf16Gemm{&P, !tb, M, N, K, 0, alpha, beta, A, K, C, N});
}
}  // namespace

void gemm_bf16w(bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, const uint16_t* W, float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K > 0 && alpha != 0.0f && bf16_kernel() == kBf16Fp32Fma && !std::strcmp(gemm_kernel_name(), "avx512")) {
    bf16_via_packed(tb, M, N, K, alpha, A, W, beta, C);
    return;
  }
  if (K <= 0 || alpha == 0.0f || !gemm_bf16_native()) {
    bf16_fallback(tb, M, N, K, alpha, A, W, beta, C);
    return;
  }
#ifdef CT_BF16
  const i64 ldw = tb ? K : N;
  const GemmGrid gr = gemm_grid(M, N, K, MR, NR);
  auto body = [&](int tid) {
    const i64 i0 = (tid / gr.tn) * gr.rows, j0 = (tid % gr.tn) * gr.cols;
    if (i0 >= M || j0 >= N) return;
    const Sub s{tb, std::min(gr.rows, M - i0), std::min(gr.cols, N - j0), K, alpha, A + i0 * K, K,
                tb ? W + j0 * ldw : W + j0, ldw, beta, C + i0 * N + j0, N};
    bf16_st(s, tid);
  };
  run_threads(gr.nt, body);
#endif
}

}  // namespace ct
