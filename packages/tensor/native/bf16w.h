// Frozen bf16 weights packed once, and the GEMMs and ops that read them (bf16w.cc, gemm_amx.cc, ce_bf16.cc).
// The layout is described in bf16w.cc; every kernel (AMX tiles, AVX-512 BF16, widened fp32) reads the same packed
// bytes, so a weight is held once whichever kernel runs.
#pragma once
#include "common.h"

// AMX code is inline assembly (tileloadd, tdpbf16ps: binutils >= 2.36) behind the same x86/BF16 guard as the
// AVX-512 BF16 kernels; -DCT_NO_AMX leaves it out of an x86 build.
#if defined(CT_BF16) && defined(__linux__) && !defined(CT_NO_AMX)
#define CT_AMX 1
#endif

namespace ct {

// A weight W[N, K] (torch Linear [out, in], bf16) in tiles of 16 output rows x 32 inputs. Tile (nt, kt) is 1 KB at
// data + (nt * Kt + kt) * 256 uint32; its uint32 (p, j), p < 16, j < 16, holds the bf16 pair
// W[16 nt + j][32 kt + 2p] (low half) and W[16 nt + j][32 kt + 2p + 1] (high half); padding is zero.
struct PackedW {
  i64 N, K;    // logical shape
  i64 Nt, Kt;  // tiles: ceil(N / 16), ceil(K / 32)
  uint32_t* data;
  size_t bytes;  // allocated bytes (Nt * Kt * 1 KB)
};

// Allocation (64-byte aligned; 2 MB-aligned with transparent huge pages when large) and packing. nullptr when the
// allocation fails. pack runs on the pool; w is row-major [N, K] bf16 bits.
PackedW* packed_alloc(i64 N, i64 K);
void packed_free(PackedW* p);
void packed_pack(PackedW& p, const uint16_t* w);
void packed_unpack(const PackedW& p, uint16_t* w);  // inverse of packed_pack: row-major [N, K] bf16 bits
// out[r, :] = W[rows[r], :] widened to fp32, for r < n (the embedding gather and the CE label rows).
void packed_gather_rows(const PackedW& p, const int32_t* rows, i64 n, float* out, i64 ldo);

// The three bf16 kernels. kAuto picks the best the CPU (and, for AMX, the OS) allows.
// kBf16Fp32Fma: fp32 FMAs on the weight widened per cache block (AVX-512F), the pick where vdpbf16ps is slower than
// fp32 FMAs (Intel cores without AMX, see bf16w.cc).
enum Bf16Kernel { kBf16Widened = 0, kBf16Avx512 = 1, kBf16Amx = 2, kBf16Fp32Fma = 3 };
Bf16Kernel bf16_kernel();
const char* bf16_kernel_name(Bf16Kernel k);
// "amx" | "avx512bf16" | "avx512fma" | "widened" | "auto"; false when this CPU/OS lacks it (the kernel is unchanged then).
bool bf16_set_kernel(const char* name);
// Why AMX is or is not available here ("ok", "no AMX-BF16 in cpuid", "arch_prctl(ARCH_REQ_XCOMP_PERM) failed: ...").
const char* amx_status();

// Rows [r0, r0 + rows) of W (r0 a multiple of 16):
//   transW false: C[M, rows] = alpha bf16(A)[M, K] W[r0:r0+rows]^T + beta C     (forward y = x W^T)
//   transW true:  C[M, K]    = alpha bf16(A)[M, rows] W[r0:r0+rows] + beta C      (input gradient dX = dY W)
// A rows lda apart, C rows ldc apart. A is rounded to bf16 (nearest even); products accumulate in fp32. beta == 0
// overwrites C (NaN ignored). Runs on the pool; not to be called from inside a pool job.
void gemm_bf16p(const PackedW& W, bool transW, i64 M, i64 r0, i64 rows, float alpha, const float* A, i64 lda,
                float beta, float* C, i64 ldc);
inline void gemm_bf16p(const PackedW& W, bool transW, i64 M, float alpha, const float* A, float beta, float* C) {
  gemm_bf16p(W, transW, M, 0, W.N, alpha, A, transW ? W.N : W.K, beta, C, transW ? W.K : W.N);
}

// GFLOPS of a TDPBF16PS-only loop (no loads) on every pool thread: this machine's AMX bf16 peak. 0 without AMX.
double amx_peak_gflops(double seconds);
// GFLOPS of a vdpbf16ps-only loop (no loads) on every pool thread (0 without AVX-512 BF16): against fma_peak_gflops it
// says whether vdpbf16ps outruns fp32 FMAs on this core (the reason for the auto pick in bf16w.cc).
double dpbf16_peak_gflops(double seconds);

// The fused LM head + cross-entropy of cross_entropy_lm_head (attention_ce.cc) with the packed bf16 weight W[V, C]:
// hidden rounded to bf16 for the logits GEMM, softmax and loss in fp32/double, dhidden = gradScale dlogits W through
// the same bf16 weight; no dW (the weight is frozen). Returns the summed loss over labelled rows.
double cross_entropy_lm_head_bf16(float* dhidden, const float* hidden, const PackedW& W, const int32_t* labels, i64 N,
                                  i64 C, float gradScale);

// ---- internal to the bf16 kernels (gemm_amx.cc <-> bf16w.cc) ------------------------------------------------------
// The engine's view of one GEMM: C[M, Nc] (+)= bf16(A)[M, R] B[R, Nc] where B is given in the packed tile layout
// (output column tiles x reduction tiles). For transW the B tiles are W^T's, re-tiled per block (see bf16w.cc).
struct Bf16Gemm {
  const PackedW* W;
  bool transW;
  i64 M, Nc, R;  // output rows, output columns, reduction length
  i64 r0t;       // first W row tile of the range (forward: first output column tile; transW: first reduction tile)
  float alpha, beta;
  const float* A;
  i64 lda;
  float* C;
  i64 ldc;
};
// Re-tiles W^T for the input gradient: the packed tiles of B = W[rows, cols]^T's column tiles [ct0, ct0 + nct)
// (16 columns of K each) x reduction tiles [rt0, rt0 + nrt) (32 rows of W each, relative to row tile r0t), written
// as dst[(j * nrt + rt) * 256 + 16 q + c] with the pair W[32 rt + 2q][16 j + c], W[32 rt + 2q + 1][16 j + c].
void retile_transposed(const PackedW& W, i64 r0t, i64 rowsValid, i64 ct0, i64 nct, i64 rt0, i64 nrt, uint32_t* dst);
bool cpu_has_avx512bf16();
bool cpu_has_avx512bw();  // AVX-512 F and BW: the re-tiling shuffles and the avx512fma kernel
void gemm_bf16p_amx(const Bf16Gemm& g);     // gemm_amx.cc
// gemm_amx.cc, tuning harnesses only: cache blocking in tiles, thread split (0 auto, 1 columns, 2 rows).
void amx_set_blocking(i64 kct, i64 nct, int split);
void gemm_bf16p_avx512(const Bf16Gemm& g);  // bf16w.cc
void gemm_bf16p_fp32fma(const Bf16Gemm& g);  // bf16w.cc

}  // namespace ct
