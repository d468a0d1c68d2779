// LoRA dropout with a counter-based mask (src/dropout.ts has the definition and the TS twin): element i of a call
// is kept iff bits(seed, offset + i) >= thr, with bits = fmix32(lo + fmix32(hi ^ fmix32(seed ^ 0x9e3779b9))). Integer
// arithmetic only, so these are the reference's bits exactly; the kept value is computed in double and rounded
// once, as the reference does, so the outputs agree to the last bit too.
#include "ops.h"

namespace ct {
namespace {
constexpr i64 kGrain = 16384;

inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

struct Counter {
  uint32_t key;
  uint64_t base;
  Counter(uint32_t seed, uint32_t hi, uint32_t lo) : key(fmix32(seed ^ 0x9e3779b9u)), base((uint64_t(hi) << 32) | lo) {}
  uint32_t bits(i64 i) const {
    const uint64_t c = base + static_cast<uint64_t>(i);
    return fmix32(static_cast<uint32_t>(c) + fmix32(static_cast<uint32_t>(c >> 32) ^ key));
  }
};
}  // namespace

void dropout_forward(float* out, const float* x, i64 n, uint32_t thr, double keep, uint32_t seed, uint32_t hi,
                     uint32_t lo) {
  const Counter ctr(seed, hi, lo);
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++) out[i] = ctr.bits(i) >= thr ? static_cast<float>(static_cast<double>(x[i]) * keep) : 0.0f;
  });
}

void dropout_backward(float* dx, const float* dout, i64 n, uint32_t thr, double keep, uint32_t seed, uint32_t hi,
                      uint32_t lo) {
  const Counter ctr(seed, hi, lo);
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++)
      if (ctr.bits(i) >= thr) dx[i] = static_cast<float>(static_cast<double>(dx[i]) + static_cast<double>(dout[i]) * keep);
  });
}

}  // namespace ct
