// Shared declarations of the crucible_tensor addon: the thread pool, per-thread scratch, the SGEMM and the ops.
#pragma once
#include <cstddef>
#include <cstdint>

// SIMD code is x86-only (AVX2/AVX-512 intrinsics behind per-function target attributes). Elsewhere, or with
// -DCT_NO_SIMD (used to test the portable build on x86), only the scalar paths are compiled.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(CT_NO_SIMD)
#define CT_X86 1
// AVX-512 BF16 intrinsics need GCC >= 10 or clang >= 11.
#if defined(__clang__) ? (__clang_major__ >= 11) : (__GNUC__ >= 10)
#define CT_BF16 1
#endif
#endif

namespace ct {

using i64 = int64_t;

// ---- thread pool (pool.cc) ----------------------------------------------------------------------------------------
// One persistent pool for every op. The calling (JS main) thread works as thread 0, so a pool of n threads starts
// n - 1 workers. Jobs never nest: code running inside a job calls only single-threaded helpers.
int pool_threads();
// Runs fn(ctx, tid) once on each of nt threads (nt <= pool_threads()) and returns when all finished.
void pool_run(int nt, void (*fn)(void* ctx, int tid), void* ctx);

template <class F>
void run_threads(int nt, F& f) {
  pool_run(nt, [](void* c, int tid) { (*static_cast<F*>(c))(tid); }, &f);
}

// Static split of [0, n) into contiguous ranges: f(begin, end, tid). Small n (< grain per thread) runs inline.
template <class F>
void parallel_for(i64 n, i64 grain, F&& f) {
  int nt = pool_threads();
  if (grain < 1) grain = 1;
  i64 useful = n / grain;
  if (useful < nt) nt = static_cast<int>(useful < 1 ? 1 : useful);
  if (nt <= 1) {
    if (n > 0) f(i64(0), n, 0);
    return;
  }
  auto body = [&](int tid) {
    i64 b = n * tid / nt, e = n * (tid + 1) / nt;
    if (b < e) f(b, e, tid);
  };
  run_threads(nt, body);
}

// Dynamic scheduling of ntasks independent tasks: f(task, tid); for uneven work (attention heads).
void parallel_tasks_impl(i64 ntasks, void (*fn)(void*, i64, int), void* ctx);
template <class F>
void parallel_tasks(i64 ntasks, F&& f) {
  parallel_tasks_impl(ntasks, [](void* c, i64 t, int tid) { (*static_cast<F*>(c))(t, tid); }, &f);
}

// ---- scratch --------------------------------------------------------------------------------------------------------
// Grow-only, 64-byte aligned buffers per (thread, slot): no allocation in steady state.
// kSkinnyB, kSkinnyAcc, kSkinnyTail: the skinny GEMM's own (gemm_mt may be called while an op holds kOp* data).
enum Slot { kPackA = 0, kPackB, kTile, kSmall, kOp0, kOp1, kOp2, kOp3, kSkinnyB, kSkinnyAcc, kSkinnyTail, kSlots };
float* scratch(int tid, Slot slot, size_t floats);
void runtime_init();  // starts the pool and sizes the scratch table; called once at module load

// ---- SGEMM (gemm.cc) ------------------------------------------------------------------------------------------------
// C[M,N] = alpha op(A) op(B) + beta C with leading dimensions (row strides). op(A) is [M,K]: A[i*lda+k] or, when ta,
// A[k*lda+i]. op(B) is [K,N]: B[k*ldb+j] or, when tb, B[j*ldb+k]. beta == 0 overwrites C (NaN in C ignored).
struct Gemm {
  bool ta, tb;
  i64 M, N, K;
  float alpha;
  const float* A;
  i64 lda;
  const float* B;
  i64 ldb;
  float beta;
  float* C;
  i64 ldc;
};
// 8x8 block of 32-bit elements, row-major with row stride ld, written transposed with out rows NR apart (AVX2;
// only call when gemm_simd_transpose() is true).
#ifdef CT_X86
__attribute__((target("avx2"))) void transpose8x8(const float* src, i64 ld, float* out, int NR);
#endif
bool gemm_simd_transpose();
#ifdef CT_X86
// The AVX-512F SGEMM micro-kernel: C[12, 32] (ldc) = alpha Ap Bp + (beta == 0 ? 0 : beta C), Ap packed [kc][12],
// Bp packed [kc][32] (64-byte aligned). Only call on a CPU with AVX-512F.
void sgemm_kernel_12x32(i64 kc, const float* a, const float* b, float* c, i64 ldc, float alpha, float beta);
#endif
void gemm_st(const Gemm& g, int tid);  // single-threaded on thread tid's scratch (safe inside a pool job)
void gemm_mt(const Gemm& g);           // splits C over the pool
const char* gemm_kernel_name();
// How gemm_mt splits C: nt threads in a tm x tn grid of tiles of rows x cols (multiples of the micro-tile).
struct GemmGrid {
  int nt, tm, tn;
  i64 rows, cols;
};
GemmGrid gemm_grid(i64 M, i64 N, i64 K, int mr, int nr);

// C[M,N] = alpha bf16(A)[M,K] op(W) + beta C, W holding bf16 bits, stored [N,K] when tb (x @ W^T) else [K,N].
// A is rounded to bf16 (nearest even) so every CPU computes the same products; they accumulate in fp32. Uses
// AVX-512 BF16 (vdpbf16ps) when the CPU has it and the avx512 kernel is selected, else widens to fp32 and runs SGEMM.
void gemm_bf16w(bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, const uint16_t* W, float beta, float* C);
bool gemm_bf16_native();  // whether gemm_bf16w currently uses vdpbf16ps
bool gemm_set_kernel(const char* name);  // "avx512" | "avx2" | "scalar" | "auto"; false if unsupported here
double fma_peak_gflops(double seconds);  // all pool threads running an FMA-only loop

}  // namespace ct
