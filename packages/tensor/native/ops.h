// The coarse ops of the Backend contract (see src/backend.ts for semantics and shapes). Pointers are raw views into
// JS typed arrays; shapes were validated by the bindings in addon.cc.
#pragma once
#include "common.h"

namespace ct {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, i64 N, i64 C, double eps);
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd,
                      i64 N, i64 C);
// inv_freq (optional, [D/2]): the frequencies to use instead of theta^(-2i/D) (Llama 3.1's rescaled RoPE).
void rope(float* x, const int32_t* pos, i64 N, i64 H, i64 D, double theta, bool inverse, const float* inv_freq);
// softcap > 0: scores s -> softcap * tanh(s / softcap) before the softmax (Gemma 2); 0 = plain.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, i64 B, i64 T, i64 Hq,
                       i64 Hkv, i64 D, const int32_t* keyLen, const int32_t* segStart, float softcap = 0);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, i64 B, i64 T, i64 Hq, i64 Hkv, i64 D,
                        const int32_t* keyLen, const int32_t* segStart, float softcap = 0);
void swiglu_forward(float* out, const float* gate, const float* up, i64 n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, i64 n);
void embedding_forward(float* out, const float* table, const int32_t* ids, i64 N, i64 C);
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, i64 N, i64 C);
// softcap > 0: logits z -> softcap * tanh(z / softcap) (Gemma 2's final_logit_softcapping); 0 = plain.
double cross_entropy_lm_head(float* dhidden, float* dW, const float* hidden, const float* W, const int32_t* labels,
                             i64 N, i64 C, i64 V, float gradScale, float softcap = 0);
void add_bias(float* x, const float* b, i64 N, i64 C);
void bias_backward(float* db, const float* dout, i64 N, i64 C);
void adamw(float* p, const float* g, float* m, float* v, i64 n, double lr, double beta1, double beta2, double eps,
           double wd, double step);
double sum_squares(const float* x, i64 n);
void scale(float* x, float s, i64 n);
void axpy(float* y, float a, const float* x, i64 n);
void dropout_forward(float* out, const float* x, i64 n, uint32_t thr, double keep, uint32_t seed, uint32_t hi,
                     uint32_t lo);
void dropout_backward(float* dx, const float* dout, i64 n, uint32_t thr, double keep, uint32_t seed, uint32_t hi,
                      uint32_t lo);

}  // namespace ct
