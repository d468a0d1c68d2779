// Frozen bf16 weights, packed once at load; the kernel choice; the AVX-512 BF16 and widened-fp32 GEMMs on them.
//
// Layout (PackedW in bf16w.h): W[N, K] in 1 KB tiles of 16 output rows x 32 inputs, tile (nt, kt) at
// (nt * Kt + kt) KB, uint32 (p, j) = the bf16 pair (W[16 nt + j][32 kt + 2p], W[16 nt + j][32 kt + 2p + 1]).
// This is exactly the VNNI "B" operand of both bf16 instructions for the forward product y = x W^T (reduction over
// K, pairs along K, 16 output columns across): an AMX B tile (16 rows of k-pairs x 16 columns) is one 1 KB tile, and
// an AVX-512 BF16 vector of 16 columns is one 64-byte row of it. The tiles of one output-column strip are contiguous
// over K, so the forward GEMM streams the weight straight from this buffer with no per-call packing at all.
//
// The input gradient dX = dY W reduces over N instead, and both instructions need their bf16 pairs along the
// reduction: (W[2q][k], W[2q + 1][k]). No single layout has pairs along both dimensions, so that use re-tiles on the
// fly, per cache block, into a small buffer (retile_transposed: an 8x8 transpose of 64-bit pairs plus a byte shuffle,
// ~32 vector shuffles per 512 bytes). That costs O(N K) per call against O(M N K) multiply-adds, and the weight is
// held once: 2 bytes per parameter plus padding of N to 16 and K to 32.
//
// Why this way round: the forward runs once per step without gradient checkpointing and twice with it (recompute),
// the input gradient once, so the forward gets the direct layout.
#include "bf16w.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#ifdef CT_X86
#include <immintrin.h>
#endif

namespace ct {

// ---- allocation and packing -----------------------------------------------------------------------------------------

PackedW* packed_alloc(i64 N, i64 K) {
  auto* p = new PackedW{N, K, (N + 15) / 16, (K + 31) / 32, nullptr, 0};
  p->bytes = static_cast<size_t>(std::max<i64>(1, p->Nt * p->Kt)) * 1024;
  // Large weights are streamed through every step: 2 MB pages cut the TLB misses of that stream.
  const size_t align = p->bytes >= (size_t(2) << 20) ? (size_t(2) << 20) : 64;
  const size_t bytes = (p->bytes + align - 1) / align * align;
  p->data = static_cast<uint32_t*>(std::aligned_alloc(align, bytes));
  if (!p->data) {
    delete p;
    return nullptr;
  }
#ifdef MADV_HUGEPAGE
  if (align > 64) madvise(p->data, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void packed_free(PackedW* p) {
  if (!p) return;
  std::free(p->data);
  delete p;
}

void packed_pack(PackedW& P, const uint16_t* w) {
  const i64 N = P.N, K = P.K, Kt = P.Kt;
  const bool simd = gemm_simd_transpose() && K % 2 == 0;
  parallel_for(P.Nt, 1, [&](i64 t0, i64 t1, int) {
    for (i64 nt = t0; nt < t1; nt++) {
      for (i64 kt = 0; kt < Kt; kt++) {
        uint32_t* d = P.data + (nt * Kt + kt) * 256;
        const i64 n0 = nt * 16, k0 = kt * 32;
        if (simd && n0 + 16 <= N && k0 + 32 <= K) {
#ifdef CT_X86
          // With K even a row of W is a row of uint32 pairs: the tile is a 16x16 transpose of 32-bit elements.
          const float* src = reinterpret_cast<const float*>(w + n0 * K + k0);
          float* out = reinterpret_cast<float*>(d);
          const i64 ld = K / 2;
          for (int pb = 0; pb < 16; pb += 8)
            for (int jb = 0; jb < 16; jb += 8) transpose8x8(src + jb * ld + pb, ld, out + pb * 16 + jb, 16);
#endif
          continue;
        }
        for (int p = 0; p < 16; p++)
          for (int j = 0; j < 16; j++) {
            const i64 n = n0 + j, k = k0 + 2 * p;
            const uint32_t lo = n < N && k < K ? w[n * K + k] : 0, hi = n < N && k + 1 < K ? w[n * K + k + 1] : 0;
            d[p * 16 + j] = lo | (hi << 16);
          }
      }
    }
  });
}

void packed_unpack(const PackedW& P, uint16_t* w) {
  const i64 N = P.N, K = P.K;
  parallel_for(N, 16, [&](i64 n0, i64 n1, int) {
    for (i64 n = n0; n < n1; n++) {
      const uint32_t* strip = P.data + (n / 16) * P.Kt * 256 + (n % 16);
      for (i64 k = 0; k < K; k++) {
        const uint32_t u = strip[(k / 32) * 256 + ((k % 32) / 2) * 16];
        w[n * K + k] = static_cast<uint16_t>(k % 2 ? u >> 16 : u & 0xffff);
      }
    }
  });
}

void packed_gather_rows(const PackedW& P, const int32_t* rows, i64 n, float* out, i64 ldo) {
  const i64 K = P.K;
  parallel_for(n, 8, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const i64 row = rows[r];
      const uint32_t* strip = P.data + (row / 16) * P.Kt * 256 + (row % 16);
      float* o = out + r * ldo;
      for (i64 k = 0; k + 1 < K; k += 2) {
        const uint32_t u = strip[(k / 32) * 256 + ((k % 32) / 2) * 16];
        uint32_t lo = u << 16, hi = u & 0xffff0000u;
        std::memcpy(o + k, &lo, 4);
        std::memcpy(o + k + 1, &hi, 4);
      }
      if (K % 2) {
        const uint32_t u = strip[((K - 1) / 32) * 256 + (((K - 1) % 32) / 2) * 16] << 16;
        std::memcpy(o + K - 1, &u, 4);
      }
    }
  });
}

// ---- re-tiling W^T for the input gradient ---------------------------------------------------------------------------

namespace {
inline uint32_t src_pair(const PackedW& W, i64 n, i64 k) {  // (W[n][k], W[n + 1][k]) from the packed tiles
  auto at = [&](i64 r) -> uint32_t {
    if (r >= W.Nt * 16) return 0;
    const uint32_t u = W.data[((r / 16) * W.Kt + k / 32) * 256 + ((k % 32) / 2) * 16 + r % 16];
    return k % 2 ? u >> 16 : u & 0xffff;
  };
  return at(n) | (at(n + 1) << 16);
}

#ifdef CT_X86
// 8 rows (p) x 8 uint64 (column pairs 2q, 2q + 1) of a packed tile -> 8 rows q of 16 bf16 pairs along the rows of W.
// After the 64-bit transpose each uint64 holds (W[2q][2p], W[2q][2p+1], W[2q+1][2p], W[2q+1][2p+1]); the byte
// shuffle reorders it to (W[2q][2p], W[2q+1][2p]), (W[2q][2p+1], W[2q+1][2p+1]).
__attribute__((target("avx512f,avx512bw"))) void retile8(const uint32_t* src, uint32_t* dst) {
  const __m512i r0 = _mm512_loadu_si512(src), r1 = _mm512_loadu_si512(src + 16), r2 = _mm512_loadu_si512(src + 32),
                r3 = _mm512_loadu_si512(src + 48), r4 = _mm512_loadu_si512(src + 64),
                r5 = _mm512_loadu_si512(src + 80), r6 = _mm512_loadu_si512(src + 96),
                r7 = _mm512_loadu_si512(src + 112);
  const __m512i t0 = _mm512_unpacklo_epi64(r0, r1), t1 = _mm512_unpackhi_epi64(r0, r1),
                t2 = _mm512_unpacklo_epi64(r2, r3), t3 = _mm512_unpackhi_epi64(r2, r3),
                t4 = _mm512_unpacklo_epi64(r4, r5), t5 = _mm512_unpackhi_epi64(r4, r5),
                t6 = _mm512_unpacklo_epi64(r6, r7), t7 = _mm512_unpackhi_epi64(r6, r7);
  const __m512i u0 = _mm512_shuffle_i64x2(t0, t2, 0x88), u1 = _mm512_shuffle_i64x2(t0, t2, 0xdd),
                u2 = _mm512_shuffle_i64x2(t1, t3, 0x88), u3 = _mm512_shuffle_i64x2(t1, t3, 0xdd),
                u4 = _mm512_shuffle_i64x2(t4, t6, 0x88), u5 = _mm512_shuffle_i64x2(t4, t6, 0xdd),
                u6 = _mm512_shuffle_i64x2(t5, t7, 0x88), u7 = _mm512_shuffle_i64x2(t5, t7, 0xdd);
  const __m512i sh = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15));
#define CT_PUT(q, v) _mm512_storeu_si512(dst + 16 * (q), _mm512_shuffle_epi8((v), sh))
  CT_PUT(0, _mm512_shuffle_i64x2(u0, u4, 0x88));
  CT_PUT(4, _mm512_shuffle_i64x2(u0, u4, 0xdd));
  CT_PUT(2, _mm512_shuffle_i64x2(u1, u5, 0x88));
  CT_PUT(6, _mm512_shuffle_i64x2(u1, u5, 0xdd));
  CT_PUT(1, _mm512_shuffle_i64x2(u2, u6, 0x88));
  CT_PUT(5, _mm512_shuffle_i64x2(u2, u6, 0xdd));
  CT_PUT(3, _mm512_shuffle_i64x2(u3, u7, 0x88));
  CT_PUT(7, _mm512_shuffle_i64x2(u3, u7, 0xdd));
#undef CT_PUT
}
#endif
}  // namespace

void retile_transposed(const PackedW& W, i64 r0t, i64 rowsValid, i64 ct0, i64 nct, i64 rt0, i64 nrt, uint32_t* dst) {
  for (i64 j = 0; j < nct; j++) {
    const i64 ct = ct0 + j;
    for (i64 rt = 0; rt < nrt; rt++) {
      uint32_t* d = dst + (j * nrt + rt) * 256;
      const i64 rowRel = 32 * (rt0 + rt);  // first W row of this reduction tile, relative to row tile r0t
#ifdef CT_X86
      const i64 kt = ct / 2, p0 = (ct % 2) * 8, s0 = r0t + 2 * (rt0 + rt);
      if (cpu_has_avx512bw() && rowRel + 32 <= rowsValid && s0 + 1 < W.Nt) {
        retile8(W.data + (s0 * W.Kt + kt) * 256 + p0 * 16, d);
        retile8(W.data + ((s0 + 1) * W.Kt + kt) * 256 + p0 * 16, d + 128);
        continue;
      }
#endif
      for (int q = 0; q < 16; q++)
        for (int c = 0; c < 16; c++) {
          const i64 r = rowRel + 2 * q, k = 16 * ct + c;
          uint32_t v = k < W.K ? src_pair(W, r0t * 16 + r, k) : 0;
          if (r >= rowsValid) v = 0;
          else if (r + 1 >= rowsValid) v &= 0xffff;
          d[16 * q + c] = v;
        }
    }
  }
}

// ---- kernel selection -----------------------------------------------------------------------------------------------

bool cpu_has_avx512bf16() {
#ifdef CT_BF16
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512bw() {
#ifdef CT_X86
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  }();
  return has;
#else
  return false;
#endif
}

bool amx_available();  // gemm_amx.cc: cpuid + XCR0 + the arch_prctl permission, probed once

namespace {
int g_kernel = -1;  // -1: not chosen yet (auto at first use)
std::mutex g_kernel_mu;

bool cpu_is_amd() {
#ifdef CT_X86
  __builtin_cpu_init();
  return __builtin_cpu_is("amd");
#else
  return false;
#endif
}

// AMX where the CPU and OS allow it. Otherwise vdpbf16ps only where it is fast: AMD Zen 4 issues it at the fp32 FMA
// rate with twice the products (measured ~1.8x the fp32 SGEMM), while Intel cores issue it at half the FMA rate in
// FLOPs (measured on a Sapphire Rapids-class Xeon without AMX: a 12-chain vdpbf16ps loop did 0.36-0.58x the FLOPs of
// an FMA loop, and the vdpbf16ps GEMM ran at 0.55-0.66x the fp32 SGEMM), so there fp32 FMAs on the weight widened
// per cache block win. The choice depends on cpuid only (no timing probe), so a run and its resume compute the same.
Bf16Kernel pick_auto_bf16() {
  if (amx_available()) return kBf16Amx;
  if (cpu_has_avx512bf16() && cpu_is_amd()) return kBf16Avx512;
  if (cpu_has_avx512bw()) return kBf16Fp32Fma;
  return kBf16Widened;
}
}  // namespace

Bf16Kernel bf16_kernel() {
  if (g_kernel < 0) {
    std::lock_guard<std::mutex> lk(g_kernel_mu);
    if (g_kernel < 0) g_kernel = pick_auto_bf16();
  }
  return static_cast<Bf16Kernel>(g_kernel);
}

const char* bf16_kernel_name(Bf16Kernel k) {
  return k == kBf16Amx ? "amx" : k == kBf16Avx512 ? "avx512bf16" : k == kBf16Fp32Fma ? "avx512fma" : "widened";
}

bool bf16_set_kernel(const char* name) {
  Bf16Kernel k;
  if (!std::strcmp(name, "auto")) k = pick_auto_bf16();
  else if (!std::strcmp(name, "amx") && amx_available()) k = kBf16Amx;
  else if (!std::strcmp(name, "avx512bf16") && cpu_has_avx512bf16()) k = kBf16Avx512;
  else if (!std::strcmp(name, "avx512fma") && cpu_has_avx512bw()) k = kBf16Fp32Fma;
  else if (!std::strcmp(name, "widened")) k = kBf16Widened;
  else return false;
  std::lock_guard<std::mutex> lk(g_kernel_mu);
  g_kernel = k;
  return true;
}

// ---- per-thread scratch of the bf16 kernels (apart from pool.cc's slots, which the callers of these GEMMs use) ------

namespace {
struct ScratchBuf {
  void* p = nullptr;
  size_t cap = 0;
};
std::vector<ScratchBuf> g_scr;
std::mutex g_scr_mu;
}  // namespace

// Grow-only, 64-byte aligned; slot < 4. Thread 0 sizes the table before any job, so workers only read it.
void* bf16_scratch(int tid, int slot, size_t bytes) {
  if (g_scr.empty()) {
    std::lock_guard<std::mutex> lk(g_scr_mu);
    if (g_scr.empty()) g_scr.resize(static_cast<size_t>(pool_threads()) * 4);
  }
  ScratchBuf& b = g_scr[static_cast<size_t>(tid) * 4 + slot];
  if (b.cap < bytes) {
    std::free(b.p);
    const size_t cap = (bytes + bytes / 4 + 4096 + 63) / 64 * 64;
    b.p = std::aligned_alloc(64, cap);
    b.cap = cap;
  }
  return b.p;
}

// ---- AVX-512 BF16: vdpbf16ps 12x32 on the packed weight -------------------------------------------------------------

namespace {
constexpr int MR = 12;
constexpr i64 KCP = 192;  // k-pairs per cache block (384 reduction elements): B micro-panels of 24 KB stay in L1
constexpr i64 NCT = 16;   // output column tiles (16 each) per block

#ifdef CT_BF16
// A[M, R] (lda) rows [m0, m0 + MR * np) -> panels [np][kp][MR] of bf16 pairs (k even low), zero-padded.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_a_pairs(const float* A, i64 lda, i64 M, i64 R,
                                                                          i64 m0, i64 np, i64 kp, uint32_t* dst) {
  const i64 full = R / 32;  // whole 32-element groups (16 pairs) of a row
  for (i64 pn = 0; pn < np; pn++) {
    uint32_t* d = dst + pn * kp * MR;
    for (int i = 0; i < MR; i++) {
      const i64 m = m0 + pn * MR + i;
      if (m >= M) {
        for (i64 p = 0; p < kp; p++) d[p * MR + i] = 0;
        continue;
      }
      const float* row = A + m * lda;
      for (i64 g = 0; g * 16 < kp; g++) {
        __m512 lo, hi;
        if (g < full) {
          lo = _mm512_loadu_ps(row + 32 * g);
          hi = _mm512_loadu_ps(row + 32 * g + 16);
        } else {  // the ragged end of the row: masked loads, zeros past R
          const i64 left = R - 32 * g;
          const __mmask16 ml = left >= 16 ? 0xffff : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
          const i64 lh = left - 16;
          const __mmask16 mh = lh >= 16 ? 0xffff : lh <= 0 ? 0 : static_cast<__mmask16>((1u << lh) - 1);
          lo = _mm512_maskz_loadu_ps(ml, row + 32 * g);
          hi = _mm512_maskz_loadu_ps(mh, row + 32 * g + 16);
        }
        alignas(64) uint32_t t[16];
        _mm512_store_si512(t, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        const i64 pend = std::min<i64>(16, kp - 16 * g);
        for (i64 q = 0; q < pend; q++) d[(16 * g + q) * MR + i] = t[q];
      }
    }
  }
}

// C[12, 32] (ldc) = alpha * sum_p a[p] b[p] + beta C; b0/b1 the two 16-column B strips, 16 uint32 per pair.
__attribute__((target("avx512f,avx512bf16"))) void kernel_12x32(i64 kp, const uint32_t* a, const uint32_t* b0,
                                                                  const uint32_t* b1, float* c, i64 ldc, float alpha,
                                                                  float beta) {
  __m512 acc[12][2];
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (i64 p = 0; p < kp; p++) {
    const __m512bh v0 = (__m512bh)_mm512_load_si512(b0 + 16 * p), v1 = (__m512bh)_mm512_load_si512(b1 + 16 * p);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, v0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, v1);
    }
    a += 12;
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
#endif  // CT_BF16
}  // namespace

// The loops both row-wise kernels share (vdpbf16ps and avx512fma). Threads split the output columns (in pairs of
// tiles) when there are enough, else the rows (np panels of MR); the caller packed A once into a shared buffer. Loops
// per thread: column block (NCT tiles) > reduction block (KCP pairs) > MR-row panel > 32-column pair of strips, so one
// A panel stays in L1 while the B block streams from L2. Per block, prep(tid, bstrip, nct, kc) may transform the B
// strips (16 uint32 a pair, straight from the weight or, for transW, re-tiled); then
// tile(tid, q, pc, kc, j, bstrip, c, ldc, alpha, beta) computes C[12, 32] at panel q, strips j and j + 1.
namespace {
template <class Prep, class Tile>
void bf16_blocked(const Bf16Gemm& g, i64 np, Prep&& prep, Tile&& tile) {
  const i64 M = g.M, Nc = g.Nc, R = g.R;
  const i64 kp = (R + 31) / 32 * 16, Ct = (Nc + 15) / 16;
  int nt = pool_threads();
  if (2.0 * M * Nc * R < 2e6) nt = 1;
  const bool splitCols = Ct >= 2 * nt;
  const i64 unitsC = (Ct + 1) / 2;
  if (!splitCols) nt = static_cast<int>(std::max<i64>(1, std::min<i64>(nt, np)));
  auto body = [&](int tid) {
    i64 c0 = 0, c1 = Ct, q0 = 0, q1 = np;  // column tiles, row panels
    if (splitCols) {
      c0 = std::min(Ct, unitsC * tid / nt * 2);
      c1 = std::min(Ct, unitsC * (tid + 1) / nt * 2);
    } else {
      q0 = np * tid / nt;
      q1 = np * (tid + 1) / nt;
    }
    if (c0 >= c1 || q0 >= q1) return;
    uint32_t* bt = g.transW ? static_cast<uint32_t*>(bf16_scratch(tid, 1, static_cast<size_t>(NCT * KCP / 16) * 1024))
                            : nullptr;
    float* edge = static_cast<float*>(bf16_scratch(tid, 2, MR * 32 * 4));
    for (i64 jc = c0; jc < c1; jc += NCT) {
      const i64 nct = std::min(NCT, c1 - jc);
      for (i64 pc = 0; pc < kp; pc += KCP) {
        const i64 kc = std::min(KCP, kp - pc);
        const float beta = pc == 0 ? g.beta : 1.0f;
        // B strip of column tile j over this block's pairs, 16 uint32 a pair. Forward: straight from the weight;
        // transW: W^T re-tiled for this block.
        const uint32_t* bstrip[NCT + 1];
        if (g.transW) {
          retile_transposed(*g.W, g.r0t, R, jc, nct, pc / 16, kc / 16, bt);
          for (i64 j = 0; j < nct; j++) bstrip[j] = bt + j * kc * 16;
        } else {
          for (i64 j = 0; j < nct; j++) bstrip[j] = g.W->data + (g.r0t + jc + j) * g.W->Kt * 256 + pc * 16;
        }
        bstrip[nct] = bstrip[nct - 1];  // an odd last tile pairs with itself; the second half is discarded
        prep(tid, bstrip, nct, kc);
        for (i64 q = q0; q < q1; q++) {
          const i64 m0 = q * MR, mr = std::min<i64>(MR, M - m0);
          for (i64 j = 0; j < nct; j += 2) {
            const i64 n0 = (jc + j) * 16, nr = std::min<i64>(32, Nc - n0);
            float* c = g.C + m0 * g.ldc + n0;
            if (mr == MR && nr == 32) {
              tile(tid, q, pc, kc, j, bstrip, c, g.ldc, g.alpha, beta);
            } else {
              tile(tid, q, pc, kc, j, bstrip, edge, i64(32), 1.0f, 0.0f);
              for (i64 i = 0; i < mr; i++)
                for (i64 jj = 0; jj < nr; jj++) {
                  float& d = c[i * g.ldc + jj];
                  d = beta == 0.0f ? g.alpha * edge[i * 32 + jj] : g.alpha * edge[i * 32 + jj] + beta * d;
                }
            }
          }
        }
      }
    }
  };
  run_threads(nt, body);
}
}  // namespace

void gemm_bf16p_avx512(const Bf16Gemm& g) {
#ifdef CT_BF16
  const i64 M = g.M, R = g.R;
  const i64 kp = (R + 31) / 32 * 16, np = (M + MR - 1) / MR;
  uint32_t* ap = static_cast<uint32_t*>(bf16_scratch(0, 0, static_cast<size_t>(np * kp * MR) * 4));
  parallel_for(np, 4, [&](i64 p0, i64 p1, int) { pack_a_pairs(g.A, g.lda, M, R, p0 * MR, p1 - p0, kp, ap + p0 * kp * MR); });
  bf16_blocked(
      g, np, [](int, const uint32_t**, i64, i64) {},
      [&](int, i64 q, i64 pc, i64 kc, i64 j, const uint32_t** bstrip, float* c, i64 ldc, float alpha, float beta) {
        kernel_12x32(kc, ap + q * kp * MR + pc * MR, bstrip[j], bstrip[j + 1], c, ldc, alpha, beta);
      });
#else
  (void)g;
#endif
}

// ---- fp32 FMA on the weight widened per cache block (AVX-512F) ----------------------------------------------------
// The same blocking and thread split as the vdpbf16ps kernel above, but each B block (NCT column tiles x KCP k-pairs
// of bf16, straight from the packed weight or re-tiled for transW) is widened once into fp32 micro-panels of 32
// columns - a shift and a mask per 16 values - and multiplied by the fp32 SGEMM's 12x32 micro-kernel. A is rounded
// to bf16 while it is packed, so the products are exactly those of the other bf16 kernels (a product of two bf16
// values is exact in fp32); only the fp32 summation order differs. Widening costs O(N K) per call, against the
// O(M N K) multiply-adds, and the weight is still read as 2 bytes a parameter.
namespace {
#ifdef CT_X86
// A[M, R] (lda) rows [m0, m0 + MR * np) -> fp32 panels [np][Rp][MR] of bf16-rounded values (Rp >= R, zero-padded).
__attribute__((target("avx512f,avx512bw"))) void pack_a_rounded(const float* A, i64 lda, i64 M, i64 R, i64 Rp,
                                                                 i64 m0, i64 np, float* dst) {
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), himask = _mm512_set1_epi32(~0xffff);
  const __m512i quiet = _mm512_set1_epi32(0x00400000), absmask = _mm512_set1_epi32(0x7fffffff),
                inf = _mm512_set1_epi32(0x7f800000);
  alignas(64) float t[MR][16];
  for (i64 pn = 0; pn < np; pn++) {
    float* d = dst + pn * Rp * MR;
    for (i64 k0 = 0; k0 < Rp; k0 += 16) {
      const i64 left = R - k0;
      const __mmask16 mk = left >= 16 ? 0xffff : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
      for (int i = 0; i < MR; i++) {
        const i64 m = m0 + pn * MR + i;
        const __m512i u = m < M ? _mm512_maskz_loadu_epi32(mk, A + m * lda + k0) : _mm512_setzero_si512();
        // round to nearest even at bit 16; NaN stays a (quiet) NaN, as bf16_round does
        const __m512i r = _mm512_and_si512(
            _mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one))), himask);
        const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, absmask), inf);
        _mm512_store_si512(t[i], _mm512_mask_mov_epi32(r, nan, _mm512_and_si512(_mm512_or_si512(u, quiet), himask)));
      }
      for (int kk = 0; kk < 16; kk++)
        for (int i = 0; i < MR; i++) d[(k0 + kk) * MR + i] = t[i][kk];
    }
  }
}

// kc rows of 16 bf16 pairs (src, 16 uint32 a row) -> 2 kc rows of 32 floats at dst + off (off 0 or 16): row 2p gets
// the low halves (even k), row 2p + 1 the high halves.
__attribute__((target("avx512f"))) void widen_strip(const uint32_t* src, i64 kc, float* dst, int off) {
  const __m512i hi = _mm512_set1_epi32(~0xffff);
  for (i64 p = 0; p < kc; p++) {
    const __m512i u = _mm512_loadu_si512(src + 16 * p);
    _mm512_store_si512(dst + 64 * p + off, _mm512_slli_epi32(u, 16));
    _mm512_store_si512(dst + 64 * p + 32 + off, _mm512_and_si512(u, hi));
  }
}
#endif  // CT_X86
}  // namespace

void gemm_bf16p_fp32fma(const Bf16Gemm& g) {
#ifdef CT_X86
  const i64 M = g.M, R = g.R;
  const i64 Rp = (R + 31) / 32 * 32, np = (M + MR - 1) / MR;
  float* ap = static_cast<float*>(bf16_scratch(0, 0, static_cast<size_t>(np * Rp * MR) * 4));
  parallel_for(np, 4, [&](i64 p0, i64 p1, int) { pack_a_rounded(g.A, g.lda, M, R, Rp, p0 * MR, p1 - p0, ap + p0 * Rp * MR); });
  const size_t bwFloats = static_cast<size_t>((NCT + 1) / 2 * 2 * KCP * 32);
  auto widened = [&](int tid) { return static_cast<float*>(bf16_scratch(tid, 3, bwFloats * 4)); };
  bf16_blocked(
      g, np,
      [&](int tid, const uint32_t** bstrip, i64 nct, i64 kc) {
        float* bw = widened(tid);
        for (i64 j = 0; j < nct; j += 2) {
          float* panel = bw + (j / 2) * 2 * kc * 32;
          widen_strip(bstrip[j], kc, panel, 0);
          widen_strip(bstrip[j + 1], kc, panel, 16);
        }
      },
      [&](int tid, i64 q, i64 pc, i64 kc, i64 j, const uint32_t**, float* c, i64 ldc, float alpha, float beta) {
        sgemm_kernel_12x32(2 * kc, ap + q * Rp * MR + 2 * pc * MR, widened(tid) + (j / 2) * 2 * kc * 32, c, ldc, alpha,
                           beta);
      });
#else
  (void)g;
#endif
}

// ---- vdpbf16ps peak -----------------------------------------------------------------------------------------------
namespace {
#ifdef CT_BF16
// 16 independent vdpbf16ps chains (no loads); returns FLOPs done (2 products of 2 FLOPs per fp32 lane).
__attribute__((target("avx512f,avx512bf16"))) double dp_loop(i64 iters) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f7f3f80), y = (__m512bh)_mm512_set1_epi32(0x33d633d6);
  for (i64 it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return static_cast<double>(iters) * 16 * 16 * 4;
}
#endif
}  // namespace

double dpbf16_peak_gflops(double seconds) {
#ifdef CT_BF16
  if (!cpu_has_avx512bf16()) return 0;
  const int nt = pool_threads();
  std::vector<double> rates(static_cast<size_t>(nt));
  auto body = [&](int tid) {
    using clk = std::chrono::steady_clock;
    const auto t0 = clk::now();
    double flops = 0, el = 0;
    do {
      flops += dp_loop(1 << 18);
      el = std::chrono::duration<double>(clk::now() - t0).count();
    } while (el < seconds);
    rates[static_cast<size_t>(tid)] = flops / el;
  };
  run_threads(nt, body);
  double total = 0;
  for (double r : rates) total += r;
  return total * 1e-9;
#else
  (void)seconds;
  return 0;
#endif
}

// ---- widened fp32: the portable path --------------------------------------------------------------------------------

namespace {
// Rows [n0, n0 + nb) of W widened to fp32 [nb, K].
void widen_rows(const PackedW& W, i64 n0, i64 nb, float* out) {
  std::vector<int32_t> rows(static_cast<size_t>(nb));
  for (i64 r = 0; r < nb; r++) rows[static_cast<size_t>(r)] = static_cast<int32_t>(n0 + r);
  packed_gather_rows(W, rows.data(), nb, out, W.K);
}

inline float bf16_round(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;  // NaN stays a quiet NaN
  else u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}

// A rounded through bf16 (the same products as the bf16 kernels) and W widened in blocks of rows, then the fp32
// SGEMM. Blocks of ~16 MB of widened weight keep the scratch bounded for an LM-head-sized weight.
void gemm_bf16p_widened(const Bf16Gemm& g) {
  const PackedW& W = *g.W;
  const i64 M = g.M, R = g.R, K = W.K;
  float* a = static_cast<float*>(bf16_scratch(0, 0, static_cast<size_t>(std::max<i64>(M * R, 1)) * 4));
  parallel_for(M, std::max<i64>(1, (1 << 15) / std::max<i64>(R, 1)), [&](i64 m0, i64 m1, int) {
    for (i64 m = m0; m < m1; m++)
      for (i64 k = 0; k < R; k++) a[m * R + k] = bf16_round(g.A[m * g.lda + k]);
  });
  const i64 rows = g.transW ? R : g.Nc;  // rows of W in the range
  const i64 block = std::max<i64>(16, ((i64(1) << 22) / std::max<i64>(K, 1)) / 16 * 16);
  float* w = static_cast<float*>(bf16_scratch(0, 1, static_cast<size_t>(std::min(block, rows) * K) * 4));
  for (i64 n0 = 0; n0 < rows; n0 += block) {
    const i64 nb = std::min(block, rows - n0);
    widen_rows(W, g.r0t * 16 + n0, nb, w);
    if (!g.transW)  // C[:, n0:n0+nb] = alpha a W_blk^T + beta C
      gemm_mt(Gemm{false, true, M, nb, K, g.alpha, a, R, w, K, g.beta, g.C + n0, g.ldc});
    else  // C += alpha a[:, n0:n0+nb] W_blk
      gemm_mt(Gemm{false, false, M, K, nb, g.alpha, a + n0, R, w, K, n0 == 0 ? g.beta : 1.0f, g.C, g.ldc});
  }
}
}  // namespace

void gemm_bf16p(const PackedW& W, bool transW, i64 M, i64 r0, i64 rows, float alpha, const float* A, i64 lda,
                float beta, float* C, i64 ldc) {
  const i64 Nc = transW ? W.K : rows, R = transW ? rows : W.K;
  if (M <= 0 || Nc <= 0) return;
  if (R <= 0 || alpha == 0.0f) {  // no products: C = beta C (beta 0 clears NaN)
    for (i64 m = 0; m < M; m++)
      for (i64 j = 0; j < Nc; j++) C[m * ldc + j] = beta == 0.0f ? 0.0f : beta * C[m * ldc + j];
    return;
  }
  const Bf16Gemm g{&W, transW, M, Nc, R, r0 / 16, alpha, beta, A, lda, C, ldc};
  switch (bf16_kernel()) {
    case kBf16Amx:
      gemm_bf16p_amx(g);
      break;
    case kBf16Avx512:
      gemm_bf16p_avx512(g);
      break;
    case kBf16Fp32Fma:
      gemm_bf16p_fp32fma(g);
      break;
    default:
      gemm_bf16p_widened(g);
  }
}

}  // namespace ct
