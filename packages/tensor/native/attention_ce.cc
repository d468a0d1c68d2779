// Causal GQA attention and the fused LM-head cross-entropy, both built on the blocked SGEMM.
//
// Attention runs one task per (batch, query head) on the pool, each task using the single-threaded GEMM on its own
// scratch, over blocks of kRB query rows so the causal upper triangle beyond each block is never computed.
// The cross-entropy walks the vocabulary in chunks of kVC rows of W with the multi-threaded GEMM, so [N, V] logits
// never exist; logsumexp is accumulated online in double.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops.h"
#include "vmath.h"

namespace ct {
namespace {
constexpr i64 kRB = 64;    // query rows per attention block
constexpr i64 kVC = 4096;  // vocab rows per cross-entropy chunk

i64 key_limit(const int32_t* keyLen, i64 b, i64 T) {
  if (!keyLen) return T;
  const i64 l = keyLen[b];
  return l < 0 ? 0 : (l > T ? T : l);
}

// The first key any of rows i0 .. i0+ib-1 sees (segStart is per query; the smallest of the block), at most nkmax.
i64 block_first_key(const int32_t* seg, i64 i0, i64 ib, i64 nkmax) {
  i64 j0 = seg[i0];
  for (i64 r = 1; r < ib; r++) j0 = seg[i0 + r] < j0 ? seg[i0 + r] : j0;
  return j0 < nkmax ? j0 : nkmax;
}

Gemm mk(bool ta, bool tb, i64 M, i64 N, i64 K, float alpha, const float* A, i64 lda, const float* B, i64 ldb,
        float beta, float* C, i64 ldc) {
  return Gemm{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
}
}  // namespace

// Keys visible to query i of a row: [lo, hi) with lo = segStart[i] (0 without packed sequences) and
// hi = min(i + 1, keyLen). A block of kRB query rows computes scores only over [j0, nkmax): j0 the smallest lo of
// its rows, nkmax the largest hi, so with neat packing the blocks skip the keys of earlier sequences entirely, and
// without segStart (j0 = 0) the arithmetic is exactly that of plain causal attention.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, i64 B, i64 T, i64 Hq,
                       i64 Hkv, i64 D, const int32_t* keyLen, const int32_t* segStart, float softcap) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  const i64 group = Hq / Hkv, ldq = Hq * D, ldk = Hkv * D;
  parallel_tasks(B * Hq, [&](i64 task, int tid) {
    const i64 b = task / Hq, h = task % Hq, g = h / group;
    const i64 limit = key_limit(keyLen, b, T);
    const int32_t* seg = segStart ? segStart + b * T : nullptr;
    const float* Q = q + b * T * ldq + h * D;
    const float* K = k + b * T * ldk + g * D;
    const float* V = v + b * T * ldk + g * D;
    float* O = out + b * T * ldq + h * D;
    float* L = lse + (b * Hq + h) * T;
    float* S = scratch(tid, kOp0, static_cast<size_t>(kRB * T));
    for (i64 i0 = 0; i0 < T; i0 += kRB) {
      const i64 ib = std::min(kRB, T - i0);
      const i64 nkmax = std::min(i0 + ib, limit);  // keys visible to the block's last row
      const i64 j0 = seg ? block_first_key(seg, i0, ib, nkmax) : 0;
      const i64 W = nkmax - j0;
      if (W <= 0) {
        for (i64 r = 0; r < ib; r++) {
          std::memset(O + (i0 + r) * ldq, 0, sizeof(float) * D);
          L[i0 + r] = 0.0f;
        }
        continue;
      }
      gemm_st(mk(false, true, ib, W, D, scale, Q + i0 * ldq, ldq, K + j0 * ldk, ldk, 0.0f, S, W), tid);
      for (i64 r = 0; r < ib; r++) {
        const i64 lo = seg ? seg[i0 + r] - j0 : 0;
        const i64 hi = std::min(i0 + r + 1, limit) - j0;
        float* row = S + r * W;
        if (hi <= lo) {  // no visible key: output 0, lse 0 (finite by contract)
          std::memset(row, 0, sizeof(float) * W);
          L[i0 + r] = 0.0f;
          continue;
        }
        if (softcap > 0)
          for (i64 j = lo; j < hi; j++) row[j] = softcap * std::tanh(row[j] / softcap);
        float mx = -std::numeric_limits<float>::infinity();
        for (i64 j = lo; j < hi; j++) mx = row[j] > mx ? row[j] : mx;
        const double sum = exp_shift_sum(row + lo, hi - lo, mx);
        const float inv = static_cast<float>(1.0 / sum);
        for (i64 j = lo; j < hi; j++) row[j] *= inv;
        for (i64 j = 0; j < lo; j++) row[j] = 0.0f;
        for (i64 j = hi; j < W; j++) row[j] = 0.0f;
        L[i0 + r] = static_cast<float>(mx + std::log(sum));
      }
      gemm_st(mk(false, false, ib, D, W, 1.0f, S, W, V + j0 * ldk, ldk, 0.0f, O + i0 * ldq, ldq), tid);
    }
  });
}

// P = exp(scale Q K^T - lse); dV += P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO * O)); dQ = scale dS K;
// dK += scale dS^T Q. With softcap the probabilities are of the capped scores c = cap tanh(s / cap) and dS is
// multiplied by dc/ds = 1 - (c / cap)^2. Each task writes its head's dK/dV into private scratch; a second pass sums each GQA group.
// Visible keys per block and row as in attention_forward.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, i64 B, i64 T, i64 Hq, i64 Hkv, i64 D,
                        const int32_t* keyLen, const int32_t* segStart, float softcap) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  const i64 group = Hq / Hkv, ldq = Hq * D, ldk = Hkv * D;
  const size_t headKV = static_cast<size_t>(T * D);
  float* dKh = scratch(0, kOp2, headKV * B * Hq);  // [B, Hq, T, D]
  float* dVh = scratch(0, kOp3, headKV * B * Hq);
  parallel_tasks(B * Hq, [&](i64 task, int tid) {
    const i64 b = task / Hq, h = task % Hq, g = h / group;
    const i64 limit = key_limit(keyLen, b, T);
    const int32_t* seg = segStart ? segStart + b * T : nullptr;
    const float* Q = q + b * T * ldq + h * D;
    const float* dO = dout + b * T * ldq + h * D;
    const float* O = out + b * T * ldq + h * D;
    const float* K = k + b * T * ldk + g * D;
    const float* V = v + b * T * ldk + g * D;
    const float* L = lse + (b * Hq + h) * T;
    float* dQ = dq + b * T * ldq + h * D;
    float* dK = dKh + task * headKV;
    float* dV = dVh + task * headKV;
    std::memset(dK, 0, sizeof(float) * headKV);
    std::memset(dV, 0, sizeof(float) * headKV);
    float* P = scratch(tid, kOp0, static_cast<size_t>(kRB * T));
    float* dP = scratch(tid, kOp1, static_cast<size_t>(kRB * T));
    for (i64 i0 = 0; i0 < T; i0 += kRB) {
      const i64 ib = std::min(kRB, T - i0);
      const i64 nkmax = std::min(i0 + ib, limit);
      const i64 j0 = seg ? block_first_key(seg, i0, ib, nkmax) : 0;
      const i64 W = nkmax - j0;
      if (W <= 0) {
        for (i64 r = 0; r < ib; r++) std::memset(dQ + (i0 + r) * ldq, 0, sizeof(float) * D);
        continue;
      }
      gemm_st(mk(false, true, ib, W, D, scale, Q + i0 * ldq, ldq, K + j0 * ldk, ldk, 0.0f, P, W), tid);
      gemm_st(mk(false, true, ib, W, D, 1.0f, dO + i0 * ldq, ldq, V + j0 * ldk, ldk, 0.0f, dP, W), tid);
      for (i64 r = 0; r < ib; r++) {
        const i64 i = i0 + r;
        const i64 lo = seg ? seg[i] - j0 : 0;
        const i64 hi = std::max(std::min(i + 1, limit) - j0, lo);
        float* pr = P + r * W;
        float* dpr = dP + r * W;
        double delta = 0;
        for (i64 d = 0; d < D; d++) delta += static_cast<double>(dO[i * ldq + d]) * O[i * ldq + d];
        const float fd = static_cast<float>(delta);
        if (softcap > 0) {
          for (i64 j = lo; j < hi; j++) {
            const float c = softcap * std::tanh(pr[j] / softcap);
            const float p = std::exp(c - L[i]);
            const float t = c / softcap;
            pr[j] = p;
            dpr[j] = p * (dpr[j] - fd) * (1.0f - t * t);
          }
        } else {
          exp_shift_scale(pr + lo, hi - lo, L[i], 1.0f);
          for (i64 j = lo; j < hi; j++) dpr[j] = pr[j] * (dpr[j] - fd);  // dP becomes dS
        }
        for (i64 j = 0; j < lo; j++) pr[j] = dpr[j] = 0.0f;
        for (i64 j = hi; j < W; j++) pr[j] = dpr[j] = 0.0f;
      }
      gemm_st(mk(true, false, W, D, ib, 1.0f, P, W, dO + i0 * ldq, ldq, 1.0f, dV + j0 * D, D), tid);
      gemm_st(mk(false, false, ib, D, W, scale, dP, W, K + j0 * ldk, ldk, 0.0f, dQ + i0 * ldq, ldq), tid);
      gemm_st(mk(true, false, W, D, ib, scale, dP, W, Q + i0 * ldq, ldq, 1.0f, dK + j0 * D, D), tid);
    }
  });
  // dk[b, t, g, :] = sum over the group's query heads h of dKh[b, h, t, :]
  parallel_for(B * T, 8, [&](i64 s, i64 e, int) {
    for (i64 bt = s; bt < e; bt++) {
      const i64 b = bt / T, t = bt % T;
      for (i64 g = 0; g < Hkv; g++) {
        float* dkr = dk + (bt * Hkv + g) * D;
        float* dvr = dv + (bt * Hkv + g) * D;
        std::memset(dkr, 0, sizeof(float) * D);
        std::memset(dvr, 0, sizeof(float) * D);
        for (i64 h = g * group; h < (g + 1) * group; h++) {
          const float* sk = dKh + (b * Hq + h) * headKV + t * D;
          const float* sv = dVh + (b * Hq + h) * headKV + t * D;
          for (i64 d = 0; d < D; d++) {
            dkr[d] += sk[d];
            dvr[d] += sv[d];
          }
        }
      }
    }
  });
}

// loss = sum over labelled rows of lse_n - z[n, label_n], z = hidden W^T, in chunks of kVC vocab rows.
// Without dW: one pass; the unnormalised sum_v exp(z - m) W_v is kept per row and rescaled whenever the running max
// m grows, so dhidden = gradScale (acc / s - W[label]) needs no second GEMM over the vocabulary.
// With dW: pass 1 finds lse, pass 2 recomputes each chunk's logits into dz = gradScale (softmax - onehot) and does
// dhidden += dz W_c and dW_c += dz^T hidden.
// softcap > 0: each chunk's logits are capped right after their GEMM (z = cap tanh(z / cap)); the gradient takes
// the two-pass path, whose dz is multiplied by 1 - (z / cap)^2.
double cross_entropy_lm_head(float* dhidden, float* dW, const float* hidden, const float* W, const int32_t* labels,
                             i64 N, i64 C, i64 V, float gradScale, float softcap) {
  // Labelled rows only; gathered into a contiguous block when some rows are ignored.
  i64 Nl = 0;
  for (i64 n = 0; n < N; n++) Nl += labels[n] != -100;
  if (dhidden) std::memset(dhidden, 0, sizeof(float) * N * C);
  if (Nl == 0) return 0.0;
  int32_t* rows = reinterpret_cast<int32_t*>(scratch(0, kOp0, static_cast<size_t>(Nl)));
  for (i64 n = 0, r = 0; n < N; n++)
    if (labels[n] != -100) rows[r++] = static_cast<int32_t>(n);
  const bool dense = Nl == N;
  float* H = const_cast<float*>(hidden);
  if (!dense) {
    H = scratch(0, kOp1, static_cast<size_t>(Nl * C));
    for (i64 r = 0; r < Nl; r++) std::memcpy(H + r * C, hidden + static_cast<i64>(rows[r]) * C, sizeof(float) * C);
  }
  const i64 VC = std::min(kVC, V);
  float* Z = scratch(0, kOp2, static_cast<size_t>(Nl * VC));
  double* stats = reinterpret_cast<double*>(scratch(0, kOp3, static_cast<size_t>(2 * 3 * Nl + Nl * C)));
  double* m = stats;          // running max
  double* s = stats + Nl;     // running sum of exp(z - m)
  double* zl = stats + 2 * Nl;  // label logit
  float* acc = reinterpret_cast<float*>(stats + 3 * Nl);  // [Nl, C] one-pass dhidden accumulator
  for (i64 r = 0; r < Nl; r++) m[r] = -std::numeric_limits<double>::infinity(), s[r] = 0, zl[r] = 0;
  const bool onePassGrad = dhidden && !dW && !(softcap > 0);
  const auto cap = [&](float* z, i64 n) {
    if (softcap > 0)
      for (i64 t = 0; t < n; t++) z[t] = softcap * std::tanh(z[t] / softcap);
  };
  if (onePassGrad) std::memset(acc, 0, sizeof(float) * Nl * C);

  for (i64 v0 = 0; v0 < V; v0 += VC) {
    const i64 vc = std::min(VC, V - v0);
    gemm_mt(mk(false, true, Nl, vc, C, 1.0f, H, C, W + v0 * C, C, 0.0f, Z, vc));
    parallel_for(Nl, 1, [&](i64 b, i64 e, int) {
      for (i64 r = b; r < e; r++) {
        float* z = Z + r * vc;
        cap(z, vc);
        const i64 lab = labels[rows[r]];
        if (lab >= v0 && lab < v0 + vc) zl[r] = z[lab - v0];
        float cm = -std::numeric_limits<float>::infinity();
        for (i64 t = 0; t < vc; t++) cm = z[t] > cm ? z[t] : cm;
        const double mnew = cm > m[r] ? cm : m[r];
        const double factor = std::exp(m[r] - mnew);  // exp(-inf) = 0 on the first chunk
        const float fm = static_cast<float>(mnew);
        const double sum = exp_shift_sum(z, vc, fm);
        s[r] = s[r] * factor + sum;
        m[r] = mnew;
        if (onePassGrad && factor != 1.0) {
          const float f = static_cast<float>(factor);
          for (i64 j = 0; j < C; j++) acc[r * C + j] *= f;
        }
      }
    });
    if (onePassGrad) gemm_mt(mk(false, false, Nl, C, vc, 1.0f, Z, vc, W + v0 * C, C, 1.0f, acc, C));
  }
  double loss = 0;
  for (i64 r = 0; r < Nl; r++) loss += m[r] + std::log(s[r]) - zl[r];

  if (onePassGrad) {
    parallel_for(Nl, 1, [&](i64 b, i64 e, int) {
      for (i64 r = b; r < e; r++) {
        const float inv = static_cast<float>(1.0 / s[r]);
        const float* wl = W + static_cast<i64>(labels[rows[r]]) * C;
        float* d = dhidden + static_cast<i64>(rows[r]) * C;
        for (i64 j = 0; j < C; j++) d[j] = gradScale * (acc[r * C + j] * inv - wl[j]);
      }
    });
  } else if (dW || dhidden) {
    // lse in m, reuse acc as the compact dhidden [Nl, C] (dense case writes dhidden directly).
    float* dH = dhidden ? (dense ? dhidden : acc) : nullptr;
    for (i64 r = 0; r < Nl; r++) m[r] += std::log(s[r]);
    for (i64 v0 = 0; v0 < V; v0 += VC) {
      const i64 vc = std::min(VC, V - v0);
      gemm_mt(mk(false, true, Nl, vc, C, 1.0f, H, C, W + v0 * C, C, 0.0f, Z, vc));
      parallel_for(Nl, 1, [&](i64 b, i64 e, int) {
        for (i64 r = b; r < e; r++) {
          float* z = Z + r * vc;
          const float l = static_cast<float>(m[r]);
          const i64 lab = labels[rows[r]];
          if (softcap > 0) {
            for (i64 t = 0; t < vc; t++) {
              const float c = softcap * std::tanh(z[t] / softcap);
              const float u = c / softcap;
              z[t] = (gradScale * std::exp(c - l) - (v0 + t == lab ? gradScale : 0.0f)) * (1.0f - u * u);
            }
            continue;
          }
          exp_shift_scale(z, vc, l, gradScale);
          if (lab >= v0 && lab < v0 + vc) z[lab - v0] -= gradScale;
        }
      });
      if (dH) gemm_mt(mk(false, false, Nl, C, vc, 1.0f, Z, vc, W + v0 * C, C, v0 == 0 ? 0.0f : 1.0f, dH, C));
      if (dW) gemm_mt(mk(true, false, vc, C, Nl, 1.0f, Z, vc, H, C, 1.0f, dW + v0 * C, C));
    }
    if (dH && !dense)
      for (i64 r = 0; r < Nl; r++) std::memcpy(dhidden + static_cast<i64>(rows[r]) * C, dH + r * C, sizeof(float) * C);
  }
  return loss;
}

}  // namespace ct
