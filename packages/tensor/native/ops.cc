// Row-wise and element-wise ops, parallelised over rows or contiguous ranges of the one pool. Reductions that the
// contract asks for in float64 (rmsnorm mean, sumSquares, bias sums) accumulate in double.
#include "ops.h"
#include "vmath.h"

#include <cmath>
#include <cstring>

namespace ct {
namespace {
constexpr i64 kGrain = 16384;  // elements per thread below which a pool wake is not worth it

// Sums per-thread double partials [nt][C] written by parallel_for bodies into dst (+=).
struct Partials {
  double* buf[256] = {};
  bool used[256] = {};
  i64 C;
  explicit Partials(i64 c) : C(c) {}
  double* get(int tid) {
    double* p = reinterpret_cast<double*>(scratch(tid, kOp0, static_cast<size_t>(2 * C)));
    std::memset(p, 0, sizeof(double) * C);
    buf[tid] = p;
    used[tid] = true;
    return p;
  }
  void add_to(float* dst) {
    for (int t = 0; t < 256; t++)
      if (used[t])
        for (i64 j = 0; j < C; j++) dst[j] += static_cast<float>(buf[t][j]);
  }
};
}  // namespace

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, i64 N, i64 C, double eps) {
  parallel_for(N, kGrain / C + 1, [&](i64 b, i64 e, int) {
    for (i64 n = b; n < e; n++) {
      const float* xr = x + n * C;
      double ss = 0;
      for (i64 j = 0; j < C; j++) ss += static_cast<double>(xr[j]) * xr[j];
      const float r = static_cast<float>(1.0 / std::sqrt(ss / C + eps));
      rstd[n] = r;
      float* o = out + n * C;
      for (i64 j = 0; j < C; j++) o[j] = (xr[j] * r) * w[j];  // HF: (x * rstd) then * weight
    }
  });
}

// dx_k = r w_k dy_k - (r^3 / C) x_k sum_j(dy_j w_j x_j);  dw_j += sum_n dy_j x_j r.
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd,
                      i64 N, i64 C) {
  Partials part(C);
  parallel_for(N, kGrain / C + 1, [&](i64 b, i64 e, int tid) {
    double* pdw = dw ? part.get(tid) : nullptr;
    for (i64 n = b; n < e; n++) {
      const float* xr = x + n * C;
      const float* dy = dout + n * C;
      const float r = rstd[n];
      double dot = 0;
      for (i64 j = 0; j < C; j++) dot += static_cast<double>(dy[j]) * w[j] * xr[j];
      const float k = static_cast<float>(static_cast<double>(r) * r * r * dot / C);
      float* d = dx + n * C;
      for (i64 j = 0; j < C; j++) d[j] = r * w[j] * dy[j] - k * xr[j];
      if (pdw)
        for (i64 j = 0; j < C; j++) pdw[j] += static_cast<double>(dy[j]) * xr[j] * r;
    }
  });
  if (dw) part.add_to(dw);
}

// HF computes inv_freq, the angle and cos/sin in float32; the same roundings as src/reference.ts.
void rope(float* x, const int32_t* pos, i64 N, i64 H, i64 D, double theta, bool inverse, const float* inv_freq) {
  const i64 half = D / 2;
  float* inv = scratch(0, kOp1, static_cast<size_t>(half));
  for (i64 i = 0; i < half; i++) {
    if (inv_freq) {
      inv[i] = inv_freq[i];
      continue;
    }
    const float e = static_cast<float>(static_cast<double>(2 * i) / static_cast<double>(D));
    const float p = static_cast<float>(std::pow(theta, static_cast<double>(e)));
    inv[i] = static_cast<float>(1.0 / static_cast<double>(p));
  }
  parallel_for(N, kGrain / (H * D) + 1, [&](i64 b, i64 e, int) {
    for (i64 n = b; n < e; n++) {
      for (i64 i = 0; i < half; i++) {
        const float angle = static_cast<float>(static_cast<double>(inv[i]) * pos[n]);
        const float c = static_cast<float>(std::cos(static_cast<double>(angle)));
        float s = static_cast<float>(std::sin(static_cast<double>(angle)));
        if (inverse) s = -s;
        for (i64 h = 0; h < H; h++) {
          float* r = x + (n * H + h) * D;
          const float x1 = r[i], x2 = r[i + half];
          r[i] = x1 * c - x2 * s;
          r[i + half] = x2 * c + x1 * s;
        }
      }
    }
  });
}

void swiglu_forward(float* out, const float* gate, const float* up, i64 n) {
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) { swiglu_fwd_range(out + b, gate + b, up + b, e - b); });
}

// d silu(g)/dg = s (1 + g (1 - s)), s = sigmoid(g).
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n) {
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    swiglu_bwd_range(dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

void embedding_forward(float* out, const float* table, const int32_t* ids, i64 N, i64 C) {
  parallel_for(N, kGrain / C + 1, [&](i64 b, i64 e, int) {
    for (i64 n = b; n < e; n++) std::memcpy(out + n * C, table + static_cast<i64>(ids[n]) * C, sizeof(float) * C);
  });
}

// Each thread owns a range of columns, so repeated ids never race.
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, i64 N, i64 C) {
  parallel_for(C, N * C >= kGrain ? 16 : C, [&](i64 b, i64 e, int) {
    for (i64 n = 0; n < N; n++) {
      float* d = dtable + static_cast<i64>(ids[n]) * C;
      const float* s = dout + n * C;
      for (i64 j = b; j < e; j++) d[j] += s[j];
    }
  });
}

void add_bias(float* x, const float* b, i64 N, i64 C) {
  parallel_for(N, kGrain / C + 1, [&](i64 s, i64 e, int) {
    for (i64 n = s; n < e; n++)
      for (i64 j = 0; j < C; j++) x[n * C + j] += b[j];
  });
}

void bias_backward(float* db, const float* dout, i64 N, i64 C) {
  Partials part(C);
  parallel_for(N, kGrain / C + 1, [&](i64 s, i64 e, int tid) {
    double* p = part.get(tid);
    for (i64 n = s; n < e; n++)
      for (i64 j = 0; j < C; j++) p[j] += dout[n * C + j];
  });
  part.add_to(db);
}

// torch.optim.AdamW single-tensor path in fp32, with the step-dependent constants in double.
void adamw(float* p, const float* g, float* m, float* v, i64 n, double lr, double beta1, double beta2, double eps,
           double wd, double step) {
  const float decay = static_cast<float>(1.0 - lr * wd);
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float one_b1 = static_cast<float>(1.0 - beta1), one_b2 = static_cast<float>(1.0 - beta2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(beta1, step)));
  const float inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(beta2, step)));
  const float feps = static_cast<float>(eps);
  parallel_for(n, kGrain, [&](i64 s, i64 e, int) {
    for (i64 i = s; i < e; i++) {
      const float gi = g[i];
      const float mi = b1 * m[i] + one_b1 * gi;
      const float vi = b2 * v[i] + one_b2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_bc2_sqrt + feps);
    }
  });
}

double sum_squares(const float* x, i64 n) {
  double part[256] = {};
  parallel_for(n, kGrain, [&](i64 s, i64 e, int tid) {
    double acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;  // 4 chains so the double adds pipeline
    i64 i = s;
    for (; i + 4 <= e; i += 4) {
      acc0 += static_cast<double>(x[i]) * x[i];
      acc1 += static_cast<double>(x[i + 1]) * x[i + 1];
      acc2 += static_cast<double>(x[i + 2]) * x[i + 2];
      acc3 += static_cast<double>(x[i + 3]) * x[i + 3];
    }
    for (; i < e; i++) acc0 += static_cast<double>(x[i]) * x[i];
    part[tid] = (acc0 + acc1) + (acc2 + acc3);
  });
  double total = 0;
  for (double v : part) total += v;
  return total;
}

void scale(float* x, float s, i64 n) {
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++) x[i] *= s;
  });
}

void axpy(float* y, float a, const float* x, i64 n) {
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++) y[i] += a * x[i];
  });
}

}  // namespace ct
