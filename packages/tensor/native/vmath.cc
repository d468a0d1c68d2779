// Vectorised exp-based loops (softmax rows, SwiGLU) with AVX-512 / AVX2 / scalar variants picked once at load time.
// exp uses the Cephes expf scheme: exp(x) = 2^n * p(r), n = round(x log2 e), r = x - n ln 2 (split in two constants),
// p a degree-6 polynomial; max error ~2 ulp over the clamped range [-88.38, 88.38] (below: 0, above: FLT_MAX-ish).
#include "vmath.h"

#include <cmath>

#ifdef CT_X86
#include <immintrin.h>
#endif

namespace ct {
namespace {

constexpr float kHi = 88.3762626647949f, kLo = -88.3762626647949f, kLog2e = 1.44269504088896341f;
constexpr float kC1 = 0.693359375f, kC2 = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f,
                kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

#ifdef CT_X86
// ---- AVX-512 --------------------------------------------------------------------------------------------------------
__attribute__((target("avx512f"))) inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kLo)), _mm512_set1_ps(kHi));
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kC1), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kC2), x);
  __m512 y = _mm512_set1_ps(kP0);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP1));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP2));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP3));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP4));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kP5));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

__attribute__((target("avx512f"))) double exp_shift_sum_512(float* z, i64 n, float m) {
  const __m512 vm = _mm512_set1_ps(m);
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  i64 i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(z + i), vm));
    _mm512_storeu_ps(z + i, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, z + i), vm)));
    _mm512_mask_storeu_ps(z + i, k, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

__attribute__((target("avx512f"))) void exp_shift_scale_512(float* z, i64 n, float m, float s) {
  const __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(s);
  i64 i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(z + i, _mm512_mul_ps(vs, exp16(_mm512_sub_ps(_mm512_loadu_ps(z + i), vm))));
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(z + i, k, _mm512_mul_ps(vs, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, z + i), vm))));
  }
}

__attribute__((target("avx512f"))) void swiglu_fwd_512(float* out, const float* gate, const float* up, i64 n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  i64 i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(g, s), _mm512_loadu_ps(up + i)));
  }
  for (; i < n; i++) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

__attribute__((target("avx512f"))) void swiglu_bwd_512(float* dgate, float* dup, const float* dout, const float* gate,
                                                       const float* up, i64 n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  i64 i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i), d = _mm512_loadu_ps(dout + i);
    const __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    const __m512 ds = _mm512_mul_ps(s, _mm512_fmadd_ps(g, _mm512_sub_ps(one, s), one));  // s (1 + g (1 - s))
    _mm512_storeu_ps(dgate + i, _mm512_mul_ps(_mm512_mul_ps(d, _mm512_loadu_ps(up + i)), ds));
    _mm512_storeu_ps(dup + i, _mm512_mul_ps(d, _mm512_mul_ps(g, s)));
  }
  for (; i < n; i++) {
    const float g = gate[i], d = dout[i], s = 1.0f / (1.0f + std::exp(-g));
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] = d * g * s;
  }
}

// ---- AVX2 + FMA -----------------------------------------------------------------------------------------------------
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kLo)), _mm256_set1_ps(kHi));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC1), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC2), x);
  __m256 y = _mm256_set1_ps(kP0);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kP5));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) double exp_shift_sum_256(float* z, i64 n, float m) {
  const __m256 vm = _mm256_set1_ps(m);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(z + i), vm));
    _mm256_storeu_ps(z + i, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  double t[4];
  _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
  double sum = (t[0] + t[1]) + (t[2] + t[3]);
  for (; i < n; i++) {
    z[i] = std::exp(z[i] - m);
    sum += z[i];
  }
  return sum;
}

__attribute__((target("avx2,fma"))) void exp_shift_scale_256(float* z, i64 n, float m, float s) {
  const __m256 vm = _mm256_set1_ps(m), vs = _mm256_set1_ps(s);
  i64 i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(z + i, _mm256_mul_ps(vs, exp8(_mm256_sub_ps(_mm256_loadu_ps(z + i), vm))));
  for (; i < n; i++) z[i] = s * std::exp(z[i] - m);
}

__attribute__((target("avx2,fma"))) void swiglu_fwd_256(float* out, const float* gate, const float* up, i64 n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(g, s), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; i++) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

__attribute__((target("avx2,fma"))) void swiglu_bwd_256(float* dgate, float* dup, const float* dout, const float* gate,
                                                        const float* up, i64 n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i), d = _mm256_loadu_ps(dout + i);
    const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    const __m256 ds = _mm256_mul_ps(s, _mm256_fmadd_ps(g, _mm256_sub_ps(one, s), one));
    _mm256_storeu_ps(dgate + i, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(up + i)), ds));
    _mm256_storeu_ps(dup + i, _mm256_mul_ps(d, _mm256_mul_ps(g, s)));
  }
  for (; i < n; i++) {
    const float g = gate[i], d = dout[i], s = 1.0f / (1.0f + std::exp(-g));
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] = d * g * s;
  }
}

#endif  // CT_X86

// ---- scalar ---------------------------------------------------------------------------------------------------------
double exp_shift_sum_1(float* z, i64 n, float m) {
  double sum = 0;
  for (i64 i = 0; i < n; i++) {
    z[i] = std::exp(z[i] - m);
    sum += z[i];
  }
  return sum;
}
void exp_shift_scale_1(float* z, i64 n, float m, float s) {
  for (i64 i = 0; i < n; i++) z[i] = s * std::exp(z[i] - m);
}
void swiglu_fwd_1(float* out, const float* gate, const float* up, i64 n) {
  for (i64 i = 0; i < n; i++) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
void swiglu_bwd_1(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n) {
  for (i64 i = 0; i < n; i++) {
    const float g = gate[i], d = dout[i], s = 1.0f / (1.0f + std::exp(-g));
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] = d * g * s;
  }
}

struct VMath {
  double (*exp_shift_sum)(float*, i64, float);
  void (*exp_shift_scale)(float*, i64, float, float);
  void (*swiglu_fwd)(float*, const float*, const float*, i64);
  void (*swiglu_bwd)(float*, float*, const float*, const float*, const float*, i64);
};

const VMath kVm1{exp_shift_sum_1, exp_shift_scale_1, swiglu_fwd_1, swiglu_bwd_1};
#ifdef CT_X86
const VMath kVm512{exp_shift_sum_512, exp_shift_scale_512, swiglu_fwd_512, swiglu_bwd_512};
const VMath kVm256{exp_shift_sum_256, exp_shift_scale_256, swiglu_fwd_256, swiglu_bwd_256};
#else
const VMath kVm512 = kVm1, kVm256 = kVm1;
#endif

VMath pick() {
#ifdef CT_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return kVm512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kVm256;
#endif
  return kVm1;
}

VMath g_vm = pick();

}  // namespace

// Called by gemm_set_kernel with a level it already checked this CPU supports.
void vmath_select(int level) { g_vm = level >= 2 ? kVm512 : level == 1 ? kVm256 : kVm1; }

double exp_shift_sum(float* z, i64 n, float m) { return g_vm.exp_shift_sum(z, n, m); }
void exp_shift_scale(float* z, i64 n, float m, float s) { g_vm.exp_shift_scale(z, n, m, s); }
void swiglu_fwd_range(float* out, const float* gate, const float* up, i64 n) { g_vm.swiglu_fwd(out, gate, up, n); }
void swiglu_bwd_range(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n) {
  g_vm.swiglu_bwd(dgate, dup, dout, gate, up, n);
}

}  // namespace ct
