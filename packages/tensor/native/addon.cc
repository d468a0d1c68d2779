// N-API bindings of crucible_tensor. Typed arrays are used in place (zero-copy; views at byte offsets work because
// napi_get_typedarray_info returns the view's own data pointer). Every shape is checked against the arrays' lengths
// and every index array against its range before any native code runs, so a wrong call throws instead of writing
// out of bounds.
#include <napi.h>

#include <cmath>
#include <mutex>
#include <string>

#include "bf16w.h"
#include "ops.h"

using ct::i64;

namespace {

// The pool and the scratch buffers are process-wide, so calls from several JS threads (worker_threads) take turns.
std::mutex g_call_mu;

// Collects the first argument error of a call; the binding returns early once it is set. Holds the call lock.
struct Args {
  const Napi::CallbackInfo& info;
  Napi::Env env;
  std::lock_guard<std::mutex> lock;
  bool failed = false;
  explicit Args(const Napi::CallbackInfo& i) : info(i), env(i.Env()), lock(g_call_mu) {}

  void fail(const std::string& msg, bool range = false) {
    if (failed) return;
    failed = true;
    if (range) Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
    else Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  }
  // Raw N-API calls (one per argument) keep a binding call near the N-API floor of ~0.1 us.
  double num(size_t i, const char* name) {
    if (failed) return 0;
    double v = 0;
    if (napi_get_value_double(env, info[i], &v) != napi_ok) fail(std::string(name) + " must be a number");
    return v;
  }
  // An optional trailing number (absent, undefined or null = 0).
  double optNum(size_t i, const char* name) {
    if (failed || i >= info.Length()) return 0;
    napi_valuetype t;
    napi_typeof(env, info[i], &t);
    if (t == napi_undefined || t == napi_null) return 0;
    return num(i, name);
  }
  i64 dim(size_t i, const char* name) {
    const double v = num(i, name);
    if (!failed && (!(v >= 0) || v != std::floor(v) || v > 9.0e15)) fail(std::string(name) + " must be an integer >= 0", true);
    return failed ? 0 : static_cast<i64>(v);
  }
  template <class T, napi_typedarray_type kind>
  T* arr(size_t i, const char* name, i64 need, bool nullable, const char* kindName) {
    if (failed) return nullptr;
    napi_value v = info[i];
    if (nullable) {
      napi_valuetype t;
      napi_typeof(env, v, &t);
      if (t == napi_null || t == napi_undefined) return nullptr;
    }
    bool isTa = false;
    napi_is_typedarray(env, v, &isTa);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;  // already advanced by the view's byte offset
    if (!isTa || napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok || type != kind) {
      fail(std::string(name) + " must be a " + kindName);
      return nullptr;
    }
    if (static_cast<i64>(length) < need) {
      fail(std::string(name) + " has " + std::to_string(length) + " elements, the shape needs " + std::to_string(need),
           true);
      return nullptr;
    }
    return static_cast<T*>(data);
  }
  float* f32(size_t i, const char* name, i64 need, bool nullable = false) {
    return arr<float, napi_float32_array>(i, name, need, nullable, "Float32Array");
  }
  uint16_t* u16(size_t i, const char* name, i64 need) {
    return arr<uint16_t, napi_uint16_array>(i, name, need, false, "Uint16Array");
  }
  int32_t* i32(size_t i, const char* name, i64 need, bool nullable = false) {
    return arr<int32_t, napi_int32_array>(i, name, need, nullable, "Int32Array");
  }
  i64 len(size_t i) {  // element count of a typed array argument already validated
    napi_typedarray_type type;
    size_t length = 0;
    napi_get_typedarray_info(env, info[i], &type, &length, nullptr, nullptr, nullptr);
    return static_cast<i64>(length);
  }
};

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("threads", ct::pool_threads());
  o.Set("kernel", ct::gemm_kernel_name());
  o.Set("bf16", ct::gemm_bf16_native());
  o.Set("bf16Kernel", ct::bf16_kernel_name(ct::bf16_kernel()));
  o.Set("amx", ct::amx_status());
  return o;
}

Napi::Value SetKernel(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_call_mu);
  const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  return Napi::Boolean::New(info.Env(), ct::gemm_set_kernel(name.c_str()));
}

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Args a(info);
  const double s = a.num(0, "seconds");
  if (a.failed) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ct::fma_peak_gflops(s));
}

// matmul(c, a, b, M, N, K, transA, transB, alpha, beta)
void Matmul(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 M = a.dim(3, "M"), N = a.dim(4, "N"), K = a.dim(5, "K");
  const bool ta = info[6].ToBoolean(), tb = info[7].ToBoolean();
  const float alpha = static_cast<float>(a.num(8, "alpha")), beta = static_cast<float>(a.num(9, "beta"));
  float* C = a.f32(0, "c", M * N);
  const float* A = a.f32(1, "a", M * K);
  const float* B = a.f32(2, "b", K * N);
  if (a.failed) return;
  ct::gemm_mt(ct::Gemm{ta, tb, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N, beta, C, N});
}

// matmulBf16W(c, a, w, M, N, K, transB, alpha, beta): w holds bf16 bits, [N,K] when transB else [K,N].
void MatmulBf16W(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 M = a.dim(3, "M"), N = a.dim(4, "N"), K = a.dim(5, "K");
  const bool tb = info[6].ToBoolean();
  const float alpha = static_cast<float>(a.num(7, "alpha")), beta = static_cast<float>(a.num(8, "beta"));
  float* C = a.f32(0, "c", M * N);
  const float* A = a.f32(1, "a", M * K);
  const uint16_t* W = a.u16(2, "w", K * N);
  if (a.failed) return;
  ct::gemm_bf16w(tb, M, N, K, alpha, A, W, beta, C);
}

void RmsnormForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(4, "N"), C = a.dim(5, "C");
  const double eps = a.num(6, "eps");
  float* out = a.f32(0, "out", N * C);
  float* rstd = a.f32(1, "rstd", N);
  const float* x = a.f32(2, "x", N * C);
  const float* w = a.f32(3, "w", C);
  if (a.failed) return;
  ct::rmsnorm_forward(out, rstd, x, w, N, C, eps);
}

void RmsnormBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(6, "N"), C = a.dim(7, "C");
  float* dx = a.f32(0, "dx", N * C);
  float* dw = a.f32(1, "dw", C, true);
  const float* dout = a.f32(2, "dout", N * C);
  const float* x = a.f32(3, "x", N * C);
  const float* w = a.f32(4, "w", C);
  const float* rstd = a.f32(5, "rstd", N);
  if (a.failed) return;
  ct::rmsnorm_backward(dx, dw, dout, x, w, rstd, N, C);
}

void Rope(const Napi::CallbackInfo& info, bool inverse) {
  Args a(info);
  const i64 N = a.dim(2, "N"), H = a.dim(3, "H"), D = a.dim(4, "D");
  const double theta = a.num(5, "theta");
  float* x = a.f32(0, "x", N * H * D);
  const int32_t* pos = a.i32(1, "pos", N);
  const float* inv_freq = a.f32(6, "invFreq", D / 2, true);
  if (!a.failed && D % 2) a.fail("D must be even for rotate_half RoPE", true);
  if (a.failed) return;
  ct::rope(x, pos, N, H, D, theta, inverse, inv_freq);
}
void RopeForward(const Napi::CallbackInfo& info) { Rope(info, false); }
void RopeBackward(const Napi::CallbackInfo& info) { Rope(info, true); }

struct AttnDims {
  i64 B, T, Hq, Hkv, D;
};
// segStart[B*T] (optional): query i of row b sees keys from segStart[b*T+i] on; each must lie in [0, i].
const int32_t* seg_start(Args& a, size_t i, const AttnDims& d) {
  const int32_t* s = a.i32(i, "segStart", d.B * d.T, true);
  if (!s) return nullptr;
  for (i64 n = 0; n < d.B * d.T; n++) {
    const i64 t = n % d.T;
    if (s[n] < 0 || s[n] > t) {
      a.fail("segStart[" + std::to_string(n) + "] = " + std::to_string(s[n]) + " must lie in [0, " +
                 std::to_string(t) + "] (the start of its query's sequence)",
             true);
      return nullptr;
    }
  }
  return s;
}

AttnDims attn_dims(Args& a, size_t first) {
  AttnDims d{a.dim(first, "B"), a.dim(first + 1, "T"), a.dim(first + 2, "Hq"), a.dim(first + 3, "Hkv"),
             a.dim(first + 4, "D")};
  if (!a.failed && (d.Hkv == 0 || d.Hq % d.Hkv != 0)) a.fail("Hq must be a positive multiple of Hkv", true);
  return d;
}

void AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const AttnDims d = attn_dims(a, 5);
  const i64 nq = d.B * d.T * d.Hq * d.D, nkv = d.B * d.T * d.Hkv * d.D;
  float* out = a.f32(0, "out", nq);
  float* lse = a.f32(1, "lse", d.B * d.Hq * d.T);
  const float* q = a.f32(2, "q", nq);
  const float* k = a.f32(3, "k", nkv);
  const float* v = a.f32(4, "v", nkv);
  const int32_t* keyLen = a.i32(10, "keyLen", d.B, true);
  const int32_t* segStart = seg_start(a, 11, d);
  const float softcap = static_cast<float>(a.optNum(12, "softcap"));
  if (!a.failed && !(softcap >= 0)) a.fail("softcap must be a number >= 0", true);
  if (a.failed) return;
  ct::attention_forward(out, lse, q, k, v, d.B, d.T, d.Hq, d.Hkv, d.D, keyLen, segStart, softcap);
}

void AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const AttnDims d = attn_dims(a, 9);
  const i64 nq = d.B * d.T * d.Hq * d.D, nkv = d.B * d.T * d.Hkv * d.D;
  float* dq = a.f32(0, "dq", nq);
  float* dk = a.f32(1, "dk", nkv);
  float* dv = a.f32(2, "dv", nkv);
  const float* dout = a.f32(3, "dout", nq);
  const float* q = a.f32(4, "q", nq);
  const float* k = a.f32(5, "k", nkv);
  const float* v = a.f32(6, "v", nkv);
  const float* out = a.f32(7, "out", nq);
  const float* lse = a.f32(8, "lse", d.B * d.Hq * d.T);
  const int32_t* keyLen = a.i32(14, "keyLen", d.B, true);
  const int32_t* segStart = seg_start(a, 15, d);
  const float softcap = static_cast<float>(a.optNum(16, "softcap"));
  if (!a.failed && !(softcap >= 0)) a.fail("softcap must be a number >= 0", true);
  if (a.failed) return;
  ct::attention_backward(dq, dk, dv, dout, q, k, v, out, lse, d.B, d.T, d.Hq, d.Hkv, d.D, keyLen, segStart, softcap);
}

void SwigluForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 n = a.dim(3, "n");
  float* out = a.f32(0, "out", n);
  const float* g = a.f32(1, "gate", n);
  const float* u = a.f32(2, "up", n);
  if (a.failed) return;
  ct::swiglu_forward(out, g, u, n);
}

void SwigluBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 n = a.dim(5, "n");
  float* dg = a.f32(0, "dgate", n);
  float* du = a.f32(1, "dup", n);
  const float* dout = a.f32(2, "dout", n);
  const float* g = a.f32(3, "gate", n);
  const float* u = a.f32(4, "up", n);
  if (a.failed) return;
  ct::swiglu_backward(dg, du, dout, g, u, n);
}

// ids must index rows of a table with rows = length / C.
bool check_ids(Args& a, const int32_t* ids, i64 N, i64 rows, const char* name, bool allowIgnore) {
  if (a.failed) return false;
  for (i64 n = 0; n < N; n++) {
    if (allowIgnore && ids[n] == -100) continue;
    if (ids[n] < 0 || ids[n] >= rows) {
      a.fail(std::string(name) + "[" + std::to_string(n) + "] = " + std::to_string(ids[n]) + " is outside [0, " +
                 std::to_string(rows) + ")", true);
      return false;
    }
  }
  return true;
}

void EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(3, "N"), C = a.dim(4, "C");
  float* out = a.f32(0, "out", N * C);
  const float* table = a.f32(1, "table", 0);
  const int32_t* ids = a.i32(2, "ids", N);
  if (a.failed || C == 0) return;
  if (!check_ids(a, ids, N, a.len(1) / C, "ids", false)) return;
  ct::embedding_forward(out, table, ids, N, C);
}

void EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(3, "N"), C = a.dim(4, "C");
  float* dtable = a.f32(0, "dtable", 0);
  const float* dout = a.f32(1, "dout", N * C);
  const int32_t* ids = a.i32(2, "ids", N);
  if (a.failed || C == 0) return;
  if (!check_ids(a, ids, N, a.len(0) / C, "ids", false)) return;
  ct::embedding_backward(dtable, dout, ids, N, C);
}

Napi::Value CrossEntropyLmHead(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(5, "N"), C = a.dim(6, "C"), V = a.dim(7, "V");
  const float gradScale = static_cast<float>(a.num(8, "gradScale"));
  float* dh = a.f32(0, "dhidden", N * C, true);
  float* dW = a.f32(1, "dW", V * C, true);
  const float* h = a.f32(2, "hidden", N * C);
  const float* W = a.f32(3, "W", V * C);
  const int32_t* labels = a.i32(4, "labels", N);
  const float softcap = static_cast<float>(a.optNum(9, "softcap"));
  if (!a.failed && !(softcap >= 0)) a.fail("softcap must be a number >= 0", true);
  if (!check_ids(a, labels, N, V, "labels", true)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ct::cross_entropy_lm_head(dh, dW, h, W, labels, N, C, V, gradScale, softcap));
}

void AddBias(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(2, "N"), C = a.dim(3, "C");
  float* x = a.f32(0, "x", N * C);
  const float* b = a.f32(1, "b", C);
  if (a.failed) return;
  ct::add_bias(x, b, N, C);
}

void BiasBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(2, "N"), C = a.dim(3, "C");
  float* db = a.f32(0, "db", C);
  const float* dout = a.f32(1, "dout", N * C);
  if (a.failed) return;
  ct::bias_backward(db, dout, N, C);
}

// adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step)
void Adamw(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 n = a.dim(4, "n");
  const double lr = a.num(5, "lr"), b1 = a.num(6, "beta1"), b2 = a.num(7, "beta2"), eps = a.num(8, "eps"),
               wd = a.num(9, "weightDecay"), step = a.num(10, "step");
  float* p = a.f32(0, "p", n);
  const float* g = a.f32(1, "g", n);
  float* m = a.f32(2, "m", n);
  float* v = a.f32(3, "v", n);
  if (!a.failed && !(step >= 1)) a.fail("step must be >= 1 (1-based, after this update)", true);
  if (a.failed) return;
  ct::adamw(p, g, m, v, n, lr, b1, b2, eps, wd, step);
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 n = a.dim(1, "n");
  const float* x = a.f32(0, "x", n);
  if (a.failed) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ct::sum_squares(x, n));
}

void Scale(const Napi::CallbackInfo& info) {
  Args a(info);
  const float s = static_cast<float>(a.num(1, "s"));
  const i64 n = a.dim(2, "n");
  float* x = a.f32(0, "x", n);
  if (a.failed) return;
  ct::scale(x, s, n);
}

void Axpy(const Napi::CallbackInfo& info) {
  Args a(info);
  const float alpha = static_cast<float>(a.num(1, "a"));
  const i64 n = a.dim(3, "n");
  float* y = a.f32(0, "y", n);
  const float* x = a.f32(2, "x", n);
  if (a.failed) return;
  ct::axpy(y, alpha, x, n);
}

// dropoutForward(out, x, n, thr, keep, seed, hi, lo) / dropoutBackward(dx, dout, ...): thr = floor(p * 2^32),
// keep = 1 / (1 - p), the counter offset split into 32-bit words (src/cpu.ts does the splitting).
void Dropout(const Napi::CallbackInfo& info, bool backward) {
  Args a(info);
  const i64 n = a.dim(2, "n");
  const double thr = a.num(3, "thr"), keep = a.num(4, "keep");
  const double seed = a.num(5, "seed"), hi = a.num(6, "hi"), lo = a.num(7, "lo");
  float* out = a.f32(0, backward ? "dx" : "out", n);
  const float* x = a.f32(1, backward ? "dout" : "x", n);
  for (double w : {thr, seed, hi, lo})
    if (!a.failed && !(w >= 0 && w <= 4294967295.0 && w == std::floor(w))) a.fail("thr/seed/hi/lo must be uint32", true);
  if (a.failed) return;
  auto u = [](double w) { return static_cast<uint32_t>(w); };
  if (backward) ct::dropout_backward(out, x, n, u(thr), keep, u(seed), u(hi), u(lo));
  else ct::dropout_forward(out, x, n, u(thr), keep, u(seed), u(hi), u(lo));
}
void DropoutForward(const Napi::CallbackInfo& info) { Dropout(info, false); }
void DropoutBackward(const Napi::CallbackInfo& info) { Dropout(info, true); }
void register_bf16(Napi::Env env, Napi::Object exports);  // the packed bf16 bindings, at the end of this file

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ct::runtime_init();
  auto fn = [&](const char* name, Napi::Function f) { exports.Set(name, f); };
  fn("info", Napi::Function::New(env, Info));
  fn("setKernel", Napi::Function::New(env, SetKernel));
  fn("fmaPeak", Napi::Function::New(env, FmaPeak));
  fn("matmul", Napi::Function::New(env, Matmul));
  fn("matmulBf16W", Napi::Function::New(env, MatmulBf16W));
  fn("rmsnormForward", Napi::Function::New(env, RmsnormForward));
  fn("rmsnormBackward", Napi::Function::New(env, RmsnormBackward));
  fn("ropeForward", Napi::Function::New(env, RopeForward));
  fn("ropeBackward", Napi::Function::New(env, RopeBackward));
  fn("attentionForward", Napi::Function::New(env, AttentionForward));
  fn("attentionBackward", Napi::Function::New(env, AttentionBackward));
  fn("swigluForward", Napi::Function::New(env, SwigluForward));
  fn("swigluBackward", Napi::Function::New(env, SwigluBackward));
  fn("embeddingForward", Napi::Function::New(env, EmbeddingForward));
  fn("embeddingBackward", Napi::Function::New(env, EmbeddingBackward));
  fn("crossEntropyLmHead", Napi::Function::New(env, CrossEntropyLmHead));
  fn("addBias", Napi::Function::New(env, AddBias));
  fn("biasBackward", Napi::Function::New(env, BiasBackward));
  fn("adamw", Napi::Function::New(env, Adamw));
  fn("sumSquares", Napi::Function::New(env, SumSquares));
  fn("scale", Napi::Function::New(env, Scale));
  fn("axpy", Napi::Function::New(env, Axpy));
  fn("dropoutForward", Napi::Function::New(env, DropoutForward));
  fn("dropoutBackward", Napi::Function::New(env, DropoutBackward));
  register_bf16(env, exports);
  return exports;
}

// ---- packed bf16 weights (bf16w.h) --------------------------------------------------------------------------------
// A packed weight is a plain JS object { N, K, bytes, layout } wrapped around native memory (type-tagged, so no other
// object passes for one). The GC frees the memory through the finalizer; releaseBf16Weight frees it at once.

const napi_type_tag kPackedTag = {0x6372756369626c65ull, 0x62663136775f7631ull};  // "crucible" "bf16w_v1"

struct PackedHolder {
  ct::PackedW* w = nullptr;
};

void FinalizePacked(napi_env env, void* data, void*) {
  auto* h = static_cast<PackedHolder*>(data);
  if (h->w) {
    int64_t ignored;
    napi_adjust_external_memory(env, -static_cast<int64_t>(h->w->bytes), &ignored);
    ct::packed_free(h->w);
  }
  delete h;
}

PackedHolder* packed_holder(Args& a, size_t i, const char* name) {
  if (a.failed) return nullptr;
  bool tagged = false;
  napi_valuetype t;
  napi_typeof(a.env, a.info[i], &t);
  if (t == napi_object) napi_check_object_type_tag(a.env, a.info[i], &kPackedTag, &tagged);
  void* p = nullptr;
  if (!tagged || napi_unwrap(a.env, a.info[i], &p) != napi_ok || !p) {
    a.fail(std::string(name) + " must be a packed weight from packBf16Weight");
    return nullptr;
  }
  return static_cast<PackedHolder*>(p);
}

const ct::PackedW* packed_arg(Args& a, size_t i, const char* name) {
  PackedHolder* h = packed_holder(a, i, name);
  if (h && !h->w) a.fail(std::string(name) + " was released (releaseBf16Weight); pack the weight again", true);
  return a.failed ? nullptr : h->w;
}

// packBf16Weight(w: Uint16Array [N, K] bf16 bits, N, K) -> packed weight
Napi::Value PackBf16Weight(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(1, "N"), K = a.dim(2, "K");
  const uint16_t* w = a.u16(0, "w", N * K);
  if (!a.failed && (N == 0 || K == 0)) a.fail("N and K must be >= 1", true);
  if (a.failed) return a.env.Undefined();
  ct::PackedW* p = ct::packed_alloc(N, K);
  if (!p) {
    a.fail("could not allocate " + std::to_string((N + 15) / 16 * ((K + 31) / 32) * 1024) + " bytes for the packed weight",
           true);
    return a.env.Undefined();
  }
  ct::packed_pack(*p, w);
  auto obj = Napi::Object::New(a.env);
  obj.DefineProperties({Napi::PropertyDescriptor::Value("N", Napi::Number::New(a.env, static_cast<double>(N)), napi_enumerable),
                        Napi::PropertyDescriptor::Value("K", Napi::Number::New(a.env, static_cast<double>(K)), napi_enumerable),
                        Napi::PropertyDescriptor::Value("bytes", Napi::Number::New(a.env, static_cast<double>(p->bytes)), napi_enumerable),
                        Napi::PropertyDescriptor::Value("layout", Napi::String::New(a.env, "tiles16x32"), napi_enumerable)});
  auto* h = new PackedHolder{p};
  napi_wrap(a.env, obj, h, FinalizePacked, nullptr, nullptr);
  napi_type_tag_object(a.env, obj, &kPackedTag);
  int64_t ignored;
  napi_adjust_external_memory(a.env, static_cast<int64_t>(p->bytes), &ignored);
  return obj;
}

Napi::Value UnpackBf16Weight(const Napi::CallbackInfo& info) {
  Args a(info);
  const ct::PackedW* p = packed_arg(a, 0, "w");
  if (a.failed) return a.env.Undefined();
  auto out = Napi::Uint16Array::New(a.env, static_cast<size_t>(p->N * p->K));
  ct::packed_unpack(*p, out.Data());
  return out;
}

void ReleaseBf16Weight(const Napi::CallbackInfo& info) {
  Args a(info);
  PackedHolder* h = packed_holder(a, 0, "w");
  if (a.failed || !h->w) return;
  int64_t ignored;
  napi_adjust_external_memory(a.env, -static_cast<int64_t>(h->w->bytes), &ignored);
  ct::packed_free(h->w);
  h->w = nullptr;
}

// matmulBf16Packed(c, a, w, M, transW, alpha, beta): transW false: c[M, N] = alpha bf16(a)[M, K] W^T + beta c;
// true: c[M, K] = alpha bf16(a)[M, N] W + beta c.
void MatmulBf16Packed(const Napi::CallbackInfo& info) {
  Args a(info);
  const ct::PackedW* w = packed_arg(a, 2, "w");
  const i64 M = a.dim(3, "M");
  const bool tw = !a.failed && info[4].ToBoolean();  // no N-API coercion with an exception pending
  const float alpha = static_cast<float>(a.num(5, "alpha")), beta = static_cast<float>(a.num(6, "beta"));
  if (a.failed) return;
  const i64 in = tw ? w->N : w->K, out = tw ? w->K : w->N;
  float* C = a.f32(0, "c", M * out);
  const float* A = a.f32(1, "a", M * in);
  if (a.failed) return;
  ct::gemm_bf16p(*w, tw, M, alpha, A, beta, C);
}

// crossEntropyLmHeadBf16(dhidden | null, hidden, w, labels, N, C, V, gradScale) -> summed loss
Napi::Value CrossEntropyLmHeadBf16(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(4, "N"), C = a.dim(5, "C"), V = a.dim(6, "V");
  const float gradScale = static_cast<float>(a.num(7, "gradScale"));
  const ct::PackedW* w = packed_arg(a, 2, "w");
  if (!a.failed && (w->N != V || w->K != C))
    a.fail("w is packed as [" + std::to_string(w->N) + ", " + std::to_string(w->K) + "] but V = " + std::to_string(V) +
               ", C = " + std::to_string(C) + "; pass the LM head weight [V, C]",
           true);
  float* dh = a.f32(0, "dhidden", N * C, true);
  const float* h = a.f32(1, "hidden", N * C);
  const int32_t* labels = a.i32(3, "labels", N);
  if (!check_ids(a, labels, N, V, "labels", true)) return a.env.Undefined();
  return Napi::Number::New(a.env, ct::cross_entropy_lm_head_bf16(dh, h, *w, labels, N, C, gradScale));
}

// embeddingForwardBf16(out, w, ids, N, C): out[N, C] = W[ids[n], :] widened to fp32.
void EmbeddingForwardBf16(const Napi::CallbackInfo& info) {
  Args a(info);
  const i64 N = a.dim(3, "N"), C = a.dim(4, "C");
  const ct::PackedW* w = packed_arg(a, 1, "w");
  if (!a.failed && w->K != C)
    a.fail("w has K = " + std::to_string(w->K) + " columns but C = " + std::to_string(C), true);
  float* out = a.f32(0, "out", N * C);
  const int32_t* ids = a.i32(2, "ids", N);
  if (!check_ids(a, ids, N, a.failed ? 0 : w->N, "ids", false)) return;
  ct::packed_gather_rows(*w, ids, N, out, C);
}

Napi::Value SetBf16Kernel(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_call_mu);
  const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  return Napi::Boolean::New(info.Env(), ct::bf16_set_kernel(name.c_str()));
}

Napi::Value AmxPeak(const Napi::CallbackInfo& info) {
  Args a(info);
  const double s = a.num(0, "seconds");
  if (a.failed) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ct::amx_peak_gflops(s));
}

Napi::Value Dpbf16Peak(const Napi::CallbackInfo& info) {
  Args a(info);
  const double s = a.num(0, "seconds");
  if (a.failed) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ct::dpbf16_peak_gflops(s));
}

void register_bf16(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Function f) { exports.Set(name, f); };
  fn("packBf16Weight", Napi::Function::New(env, PackBf16Weight));
  fn("unpackBf16Weight", Napi::Function::New(env, UnpackBf16Weight));
  fn("releaseBf16Weight", Napi::Function::New(env, ReleaseBf16Weight));
  fn("matmulBf16Packed", Napi::Function::New(env, MatmulBf16Packed));
  fn("crossEntropyLmHeadBf16", Napi::Function::New(env, CrossEntropyLmHeadBf16));
  fn("embeddingForwardBf16", Napi::Function::New(env, EmbeddingForwardBf16));
  fn("setBf16Kernel", Napi::Function::New(env, SetBf16Kernel));
  fn("amxPeak", Napi::Function::New(env, AmxPeak));
  fn("dpbf16Peak", Napi::Function::New(env, Dpbf16Peak));
}

}  // namespace

NODE_API_MODULE(crucible_tensor, Init)
