// The fused LM head + cross-entropy on a packed bf16 weight (a frozen, possibly tied, embedding [V, C]). The same
// algorithm as cross_entropy_lm_head's one-pass branch (attention_ce.cc), with both GEMMs on the bf16 kernels:
// the vocabulary is walked in chunks of kVC rows; per chunk z = bf16(hidden) W_c^T, the running max / sum of
// exp(z - m) per row in double, and acc += bf16(exp(z - m)) W_c, rescaled whenever the max grows. At the end
// dhidden = gradScale (acc / sum - W[label]). So logits never exist whole, and the weight is read twice per step.
// Rounding exp(z - m) (in (0, 1]) to bf16 for the second GEMM is the bf16 analogue of torch autocast rounding the
// logits' gradient to bf16 before dlogits @ W; W[label] is subtracted exactly.
#include <cmath>
#include <cstring>
#include <limits>

#include "bf16w.h"
#include "vmath.h"

#ifdef CT_X86
#include <immintrin.h>
#endif

namespace ct {
namespace {
constexpr i64 kVC = 4096;  // vocab rows per chunk: a multiple of 16 (row tiles of the packed weight)

// max over z[0, n), NaN ignored. Vectorised: at AMX speed a scalar max over the 151936 logits of every row is a
// tenth of the LM head's time.
float row_max_scalar(const float* z, i64 n) {
  float m = -std::numeric_limits<float>::infinity();
  for (i64 t = 0; t < n; t++) m = z[t] > m ? z[t] : m;
  return m;
}
#ifdef CT_X86
__attribute__((target("avx512f"))) float row_max_512(const float* z, i64 n) {
  __m512 m0 = _mm512_set1_ps(-std::numeric_limits<float>::infinity()), m1 = m0;
  i64 t = 0;
  for (; t + 32 <= n; t += 32) {  // max(z, m) keeps m where z is NaN, like the scalar compare
    m0 = _mm512_max_ps(_mm512_loadu_ps(z + t), m0);
    m1 = _mm512_max_ps(_mm512_loadu_ps(z + t + 16), m1);
  }
  const float m = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
  const float r = row_max_scalar(z + t, n - t);
  return r > m ? r : m;
}
#endif
float row_max(const float* z, i64 n) {
#ifdef CT_X86
  static const bool avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
  }();
  if (avx512) return row_max_512(z, n);
#endif
  return row_max_scalar(z, n);
}
}  // namespace

double cross_entropy_lm_head_bf16(float* dhidden, const float* hidden, const PackedW& W, const int32_t* labels, i64 N,
                                  i64 C, float gradScale) {
  const i64 V = W.N;
  i64 Nl = 0;
  for (i64 n = 0; n < N; n++) Nl += labels[n] != -100;
  if (dhidden) std::memset(dhidden, 0, sizeof(float) * N * C);
  if (Nl == 0) return 0.0;
  // Labelled rows only, gathered into a contiguous block when some rows are ignored (pool scratch slots: the bf16
  // GEMMs use their own).
  int32_t* rows = reinterpret_cast<int32_t*>(scratch(0, kOp0, static_cast<size_t>(Nl)));
  for (i64 n = 0, r = 0; n < N; n++)
    if (labels[n] != -100) rows[r++] = static_cast<int32_t>(n);
  const float* H = hidden;
  if (Nl != N) {
    float* h = scratch(0, kOp1, static_cast<size_t>(Nl * C));
    for (i64 r = 0; r < Nl; r++) std::memcpy(h + r * C, hidden + static_cast<i64>(rows[r]) * C, sizeof(float) * C);
    H = h;
  }
  const i64 VC = std::min(kVC, V);
  float* Z = scratch(0, kOp2, static_cast<size_t>(Nl * VC));
  double* stats = reinterpret_cast<double*>(scratch(0, kOp3, static_cast<size_t>(2 * 3 * Nl + Nl * C)));
  double* m = stats;                                      // running max
  double* s = stats + Nl;                                 // running sum of exp(z - m)
  double* zl = stats + 2 * Nl;                            // label logit
  float* acc = reinterpret_cast<float*>(stats + 3 * Nl);  // [Nl, C]: sum over v of exp(z - m) W_v
  for (i64 r = 0; r < Nl; r++) m[r] = -std::numeric_limits<double>::infinity(), s[r] = 0, zl[r] = 0;
  const bool grad = dhidden != nullptr;
  if (grad) std::memset(acc, 0, sizeof(float) * Nl * C);

  for (i64 v0 = 0; v0 < V; v0 += VC) {
    const i64 vc = std::min(VC, V - v0);
    gemm_bf16p(W, false, Nl, v0, vc, 1.0f, H, C, 0.0f, Z, vc);
    parallel_for(Nl, 1, [&](i64 b, i64 e, int) {
      for (i64 r = b; r < e; r++) {
        float* z = Z + r * vc;
        const i64 lab = labels[rows[r]];
        if (lab >= v0 && lab < v0 + vc) zl[r] = z[lab - v0];
        const float cm = row_max(z, vc);
        const double mnew = cm > m[r] ? cm : m[r];
        const double factor = std::exp(m[r] - mnew);  // exp(-inf) = 0 on the first chunk
        s[r] = s[r] * factor + exp_shift_sum(z, vc, static_cast<float>(mnew));
        m[r] = mnew;
        if (grad && factor != 1.0) {
          const float f = static_cast<float>(factor);
          for (i64 j = 0; j < C; j++) acc[r * C + j] *= f;
        }
      }
    });
    if (grad) gemm_bf16p(W, true, Nl, v0, vc, 1.0f, Z, vc, 1.0f, acc, C);
  }
  double loss = 0;
  for (i64 r = 0; r < Nl; r++) loss += m[r] + std::log(s[r]) - zl[r];
  if (!grad) return loss;

  // dhidden rows = gradScale (acc / s - W[label]); the label rows are widened from the packed weight into Z.
  int32_t* labRows = reinterpret_cast<int32_t*>(Z);
  float* wl = Z + Nl;
  for (i64 r = 0; r < Nl; r++) labRows[r] = labels[rows[r]];
  if (Nl + Nl * C > Nl * VC) wl = scratch(0, kOp1, static_cast<size_t>(Nl * C));  // tiny V: Z is too small
  packed_gather_rows(W, labRows, Nl, wl, C);
  parallel_for(Nl, 1, [&](i64 b, i64 e, int) {
    for (i64 r = b; r < e; r++) {
      const float inv = static_cast<float>(1.0 / s[r]);
      float* d = dhidden + static_cast<i64>(rows[r]) * C;
      for (i64 j = 0; j < C; j++) d[j] = gradScale * (acc[r * C + j] * inv - wl[r * C + j]);
    }
  });
  return loss;
}

}  // namespace ct
