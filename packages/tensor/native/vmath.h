// Vectorised exp loops (see vmath.cc), dispatched at load time to AVX-512, AVX2+FMA or scalar code.
#pragma once
#include "common.h"

namespace ct {
// z[i] = exp(z[i] - m) for i < n; returns the sum of the new z in double.
double exp_shift_sum(float* z, i64 n, float m);
// z[i] = s * exp(z[i] - m).
void exp_shift_scale(float* z, i64 n, float m, float s);
// out = silu(gate) * up;  dgate = dout * up * s (1 + g (1 - s)), dup = dout * silu(g), s = sigmoid(g).
void swiglu_fwd_range(float* out, const float* gate, const float* up, i64 n);
void swiglu_bwd_range(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n);
// 2 = AVX-512, 1 = AVX2+FMA, 0 = scalar (for tests of every code path on one machine).
void vmath_select(int level);
}  // namespace ct
